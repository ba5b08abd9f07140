import { utcDay, type QuotaSubject, type UsageCounter } from './counter.js';

export interface UsageReport {
  dailyQuota: number;
  /** Calls today (UTC). */
  today: number;
  /** One entry per UTC day, oldest first, today last; days without calls have 0. */
  days: Array<{ date: string; calls: number }>;
}

/** The last `days` UTC days of a subject's calls, this node's latest calls included. */
export async function usageReport(usage: UsageCounter, subject: QuotaSubject, dailyQuota: number, days: number, now: Date): Promise<UsageReport> {
  const dates = Array.from({ length: days }, (_, i) => utcDay(new Date(now.getTime() - (days - 1 - i) * 86_400_000)));
  await usage.flush();
  const counted = new Map((await usage.daily(subject, dates[0]!)).map((r) => [r.day, r.calls]));
  const series = dates.map((date) => ({ date, calls: counted.get(date) ?? 0 }));
  return { dailyQuota, today: series[series.length - 1]!.calls, days: series };
}

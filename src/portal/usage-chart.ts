import { RAISE_FROM_PERCENT } from '../applications/quota-requests.js';
import type { UsageReport } from '../usage/report.js';

const WIDTH = 720;
const HEIGHT = 240;
const PAD = { left: 64, right: 16, top: 16, bottom: 32 };

const number = (n: number) => n.toLocaleString('en-US');

/**
 * Calls per day as an SVG bar chart against the daily quota line, with the 80 % mark (from
 * where a raise can be requested). Server-rendered: the page needs no JavaScript. Only numbers
 * and ISO dates go into the markup, so nothing needs escaping.
 */
export function usageChartSvg(report: UsageReport): string {
  const { dailyQuota, days } = report;
  const top = Math.max(dailyQuota, ...days.map((d) => d.calls)) * 1.1;
  const plotWidth = WIDTH - PAD.left - PAD.right;
  const plotHeight = HEIGHT - PAD.top - PAD.bottom;
  const y = (calls: number) => PAD.top + plotHeight - (calls / top) * plotHeight;
  const slot = plotWidth / days.length;
  const barWidth = Math.max(1, slot * 0.7);

  const bars = days.map((d, i) => {
    const share = d.calls / dailyQuota;
    const tone = share >= 1 ? 'over' : share >= RAISE_FROM_PERCENT / 100 ? 'high' : 'normal';
    const x = PAD.left + i * slot + (slot - barWidth) / 2;
    return `<rect class="bar ${tone}" x="${x.toFixed(1)}" y="${y(d.calls).toFixed(1)}" width="${barWidth.toFixed(1)}" height="${(PAD.top + plotHeight - y(d.calls)).toFixed(1)}"><title>${d.date}: ${number(d.calls)} calls</title></rect>`;
  });
  // A date label every few days, so that 90 days still fit; today always, without a neighbour over it.
  const every = Math.ceil(days.length / 8);
  const last = days.length - 1;
  const labels = days.map((d, i) => ((i % every === 0 && last - i >= every / 2) || i === last
    ? `<text class="axis" x="${(PAD.left + i * slot + slot / 2).toFixed(1)}" y="${HEIGHT - 10}" text-anchor="middle">${d.date.slice(5)}</text>` : ''));
  const line = (calls: number, cls: string, label: string) => `<line class="${cls}" x1="${PAD.left}" x2="${WIDTH - PAD.right}" y1="${y(calls).toFixed(1)}" y2="${y(calls).toFixed(1)}"/>`
    + `<text class="axis ${cls}" x="${PAD.left - 6}" y="${(y(calls) + 4).toFixed(1)}" text-anchor="end">${label}</text>`;

  return [
    `<svg class="usage-chart" viewBox="0 0 ${WIDTH} ${HEIGHT}" role="img" aria-labelledby="usage-chart-title" xmlns="http://www.w3.org/2000/svg">`,
    `<title id="usage-chart-title">Calls per day over the last ${days.length} days against the daily quota of ${number(dailyQuota)}</title>`,
    `<line class="baseline" x1="${PAD.left}" x2="${WIDTH - PAD.right}" y1="${PAD.top + plotHeight}" y2="${PAD.top + plotHeight}"/>`,
    `<text class="axis" x="${PAD.left - 6}" y="${PAD.top + plotHeight + 4}" text-anchor="end">0</text>`,
    ...bars,
    line(dailyQuota * RAISE_FROM_PERCENT / 100, 'raise-mark', `${RAISE_FROM_PERCENT} %`),
    line(dailyQuota, 'quota-line', number(dailyQuota)),
    ...labels,
    '</svg>',
  ].join('');
}

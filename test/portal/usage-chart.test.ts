import { describe, expect, it } from '@jest/globals';
import { usageChartSvg } from '../../src/portal/usage-chart.js';

const days = (calls: number[]) => calls.map((c, i) => ({ date: `2026-11-${String(i + 1).padStart(2, '0')}`, calls: c }));

describe('the usage chart', () => {
  it('draws one bar per day, the quota line and the 80 % mark, in scale', () => {
    const svg = usageChartSvg({ dailyQuota: 5000, today: 4500, days: days([0, 1000, 4500, 5000]) });
    expect(svg.match(/<rect /g)).toHaveLength(4);
    expect(svg).toContain('<title>2026-11-02: 1,000 calls</title>');
    // Bars under 80 %, from 80 %, and at the quota are told apart.
    expect(svg.match(/class="bar normal"/g)).toHaveLength(2);
    expect(svg).toContain('class="bar high"');
    expect(svg).toContain('class="bar over"');
    const lineY = (cls: string) => Number(new RegExp(`<line class="${cls}"[^>]* y1="([\\d.]+)"`).exec(svg)![1]);
    const baseline = lineY('baseline');
    const quota = lineY('quota-line');
    const mark = lineY('raise-mark');
    // The 80 % mark sits at 80 % of the quota line's height above the baseline.
    expect((baseline - mark) / (baseline - quota)).toBeCloseTo(0.8, 2);
    // The day at the quota reaches the quota line exactly.
    const full = /<rect class="bar over"[^>]* y="([\d.]+)"/.exec(svg)!;
    expect(Number(full[1])).toBeCloseTo(quota, 0);
    expect(svg).toContain('against the daily quota of 5,000');
  });

  it('keeps bars that pass the quota inside the chart', () => {
    const svg = usageChartSvg({ dailyQuota: 100, today: 250, days: days([250]) });
    const y = Number(/<rect [^>]* y="([\d.]+)"/.exec(svg)![1]);
    expect(y).toBeGreaterThan(0);
  });
});

describe('the usage chart\'s date labels', () => {
  it('labels today and every few days without two labels side by side', () => {
    const thirty = Array.from({ length: 30 }, (_, i) => ({ date: new Date(Date.UTC(2026, 9, 25 + i)).toISOString().slice(0, 10), calls: i }));
    const svg = usageChartSvg({ dailyQuota: 100, today: 29, days: thirty });
    const xs = [...svg.matchAll(/<text class="axis" x="([\d.]+)" y="\d+" text-anchor="middle">([\d-]+)<\/text>/g)].map((m) => ({ x: Number(m[1]), label: m[2] }));
    expect(xs.at(-1)!.label).toBe('11-23');
    const gaps = xs.slice(1).map((p, i) => p.x - xs[i]!.x);
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(2 * (720 - 64 - 16) / 30);
  });
});

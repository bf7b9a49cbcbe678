// Ads: campaigns with spend against budget and today's pacing curve; the fraud review queue
// (flagged clicks with their reasons; release charges the click once, confirm keeps it unpaid).
import type { ChartConfiguration } from 'chart.js';
import { useMemo, useState } from 'preact/hooks';
import { api, type Session } from '../api';
import { ChartBox, COLORS } from '../charts';
import { Badge, ErrorBox, errorText, fmt, LiveStatus, Loading, useAsync, useReady } from '../ui';

interface Campaign {
  id: string; name: string; advertiserId: string; status: string; active: boolean; bidType: string; bidMinor: number; currency: string;
  dailyBudgetMinor: number | null; lifetimeBudgetMinor: number | null; spentTodayMinor: number; spentLifetimeMinor: number; pacingRate: number | null;
  pacing: { at: number; spentMinor: number; targetMinor: number | null }[];
}
interface Flagged { clickId: string; campaignId: string | null; reasons: string[]; score: number; status: string; clickedAt: number; ip: string | null; device: string | null; userAgent: string | null }

function spendChart(cs: Campaign[]): ChartConfiguration {
  const top = cs.filter((c) => c.dailyBudgetMinor !== null).slice(0, 12);
  return {
    type: 'bar',
    data: { labels: top.map((c) => c.name), datasets: [
      { label: 'spent today', data: top.map((c) => c.spentTodayMinor / 100), backgroundColor: COLORS.blue },
      { label: 'daily budget', data: top.map((c) => (c.dailyBudgetMinor ?? 0) / 100), backgroundColor: 'rgba(75,85,99,0.35)' },
    ] },
    options: { indexAxis: 'y', scales: { x: { title: { display: true, text: 'amount (major units of each campaign\'s currency)' } }, y: { ticks: { autoSkip: false } } } },
  };
}

function pacingChart(c: Campaign): ChartConfiguration {
  return {
    type: 'line',
    data: { labels: c.pacing.map((p) => new Date(p.at).toISOString().slice(11, 16)), datasets: [
      { label: 'spent (cumulative)', data: c.pacing.map((p) => p.spentMinor / 100), borderColor: COLORS.blue, backgroundColor: COLORS.blue },
      { label: 'target curve', data: c.pacing.map((p) => (p.targetMinor === null ? null : p.targetMinor / 100)), borderColor: COLORS.amber, borderDash: [6, 3], pointRadius: 0 },
    ] },
    options: { scales: { y: { min: 0, title: { display: true, text: c.currency } }, x: { title: { display: true, text: 'UTC time today' } } } },
  };
}

export function AdsPage(_props: { session: Session }) {
  const data = useAsync(async () => {
    const [c, f] = await Promise.all([
      api<{ day: string; campaigns: Campaign[] }>('/v1/ads/campaigns?limit=200'),
      api<{ items: Flagged[] }>('/v1/ads/flagged-clicks?status=flagged&limit=100'),
    ]);
    return { day: c.day, campaigns: c.campaigns, flagged: f.items };
  }, []);
  const [picked, setPicked] = useState<string | null>(null);
  const [status, setStatus] = useState('');
  const campaign = data.data ? data.data.campaigns.find((c) => c.id === picked) ?? data.data.campaigns.find((c) => c.dailyBudgetMinor !== null && c.active) ?? data.data.campaigns[0] : undefined;
  const charts = useMemo(() => (data.data ? { spend: spendChart(data.data.campaigns), pacing: campaign ? pacingChart(campaign) : null } : null), [data.data, campaign]);
  useReady('ads', !!charts);
  const review = async (clickId: string, decision: 'release' | 'confirm') => {
    setStatus(`${decision === 'release' ? 'Releasing' : 'Confirming'} ${clickId}…`);
    try {
      const r = await api<{ status: string; outcome: { charged: boolean } | null }>(`/v1/ads/flagged-clicks/${encodeURIComponent(clickId)}/review`, { method: 'POST', body: { decision } });
      setStatus(`${clickId}: ${r.status}${r.outcome ? r.outcome.charged ? ', charged once' : ', not charged' : ''}.`);
      data.reload();
    } catch (err) { setStatus(`Review failed: ${errorText(err)}`); }
  };
  if (!data.data || !charts) return <section><h1>Ads</h1><ErrorBox error={data.error} />{data.loading ? <Loading what="campaigns" /> : null}</section>;
  const { campaigns, flagged, day } = data.data;
  return (
    <section>
      <h1>Ads</h1>
      <LiveStatus text={status} />
      <h2>Campaigns: spend against daily budget ({day})</h2>
      <ChartBox id="spend" config={charts.spend} label="Spend today against the daily budget of each budgeted campaign" height={Math.max(200, 34 * Math.min(12, campaigns.length) + 60)} />
      <table>
        <caption>{campaigns.length} campaigns</caption>
        <thead><tr><th scope="col">Campaign</th><th scope="col">Status</th><th scope="col">Bid</th><th scope="col">Today / daily</th><th scope="col">Lifetime / budget</th><th scope="col">Pass-through</th><th scope="col">Pacing</th></tr></thead>
        <tbody>
          {campaigns.map((c) => (
            <tr key={c.id} class={c.id === campaign?.id ? 'selected' : ''}>
              <th scope="row">{c.name}<div class="muted small">{c.id} · {c.advertiserId}</div></th>
              <td><Badge tone={c.active ? 'ok' : 'info'}>{c.active ? 'serving' : c.status}</Badge></td>
              <td>{c.bidType.toUpperCase()} {fmt.money(c.bidMinor, c.currency)}</td>
              <td>{fmt.money(c.spentTodayMinor, c.currency)} / {fmt.money(c.dailyBudgetMinor, c.currency)}
                {c.dailyBudgetMinor ? <meter min={0} max={c.dailyBudgetMinor} value={c.spentTodayMinor} aria-label={`${c.name}: share of today's budget spent`} /> : null}</td>
              <td>{fmt.money(c.spentLifetimeMinor, c.currency)} / {fmt.money(c.lifetimeBudgetMinor, c.currency)}</td>
              <td>{c.pacingRate === null ? '—' : fmt.pct(c.pacingRate, 0)}</td>
              <td><button type="button" class="small secondary" aria-pressed={c.id === campaign?.id} onClick={() => setPicked(c.id)}>Pacing curve</button></td>
            </tr>
          ))}
        </tbody>
      </table>
      {campaign && charts.pacing ? <>
        <h2>Today's pacing: {campaign.name}</h2>
        <ChartBox id="pacing" config={charts.pacing} label={`Cumulative spend of ${campaign.name} today against its target curve`} />
      </> : null}
      <h2>Fraud review queue</h2>
      {flagged.length === 0 ? <p>No flagged clicks wait for review.</p> : (
        <table>
          <caption>{flagged.length} flagged clicks, newest first</caption>
          <thead><tr><th scope="col">Click</th><th scope="col">When</th><th scope="col">Reasons</th><th scope="col">From</th><th scope="col">Decision</th></tr></thead>
          <tbody>
            {flagged.map((f) => (
              <tr key={f.clickId} data-click={f.clickId}>
                <th scope="row"><code>{f.clickId}</code><div class="muted small">{f.campaignId ?? 'no campaign'}</div></th>
                <td>{fmt.time(f.clickedAt)}</td>
                <td>{f.reasons.map((r) => <Badge key={r} tone="warn">{r}</Badge>)}</td>
                <td class="small">{f.ip ?? '—'} · {f.device ?? '—'}<div class="muted">{f.userAgent ?? ''}</div></td>
                <td class="actions">
                  <button type="button" class="small" onClick={() => review(f.clickId, 'release')}>Release</button>
                  <button type="button" class="small danger" onClick={() => review(f.clickId, 'confirm')}>Confirm fraud</button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

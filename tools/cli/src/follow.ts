import { writeFileSync } from 'node:fs';
import { type AgfClient, AgfError, type StoryEvent } from '@agf/client';
import type { DecisionMade } from '@agf/contracts';
import { CliExit, EXIT } from './exit-codes';

export interface FollowSettings {
  timeoutMs: number;
  json: boolean;
  decisionFile: string;
}

/** One line per step of the request's story: timestamped in CI logs, plain on a terminal. */
function say(settings: FollowSettings, text: string, event?: StoryEvent): void {
  if (settings.json) {
    if (event) process.stdout.write(`${JSON.stringify(event)}\n`);
    return;
  }
  const line = process.stdout.isTTY ? `▸ ${text}` : `${new Date().toISOString()} ${text}`;
  process.stdout.write(`${line}\n`);
}

export function describe(event: StoryEvent): string {
  const d = event.data as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  switch (event.type) {
    case 'risk.assessed':
      return `risk ${Number(d['overallScore']).toFixed(2)}${(d['riskFactors'] as string[] | undefined)?.length ? `: ${(d['riskFactors'] as string[]).slice(0, 5).join('; ')}` : ''}`;
    case 'review.classified':
      return d['governanceRequired']
        ? `tier ${d['tierLevel']}: ${(d['triggers'] as Array<{ condition: string; reason: string }>).map((t) => `${t.condition} (${t.reason})`).join(', ')}`
        : 'no governance trigger fired: standard deployment';
    case 'review.assigned':
      return `assigned ${d['expertId']} (${d['expertType']}, ${d['expertKind']}), due ${d['slaDueAt']}`;
    case 'review.completed':
      return `review by ${d['expertId']}${d['actor'] ? ` (${d['actor'].subject})` : ''}: ${d['decision']}${d['comments'] ? ` — ${d['comments']}` : ''}`;
    case 'review.rejected':
      return `answer of ${d['expertId']} refused: ${d['reason']}`;
    case 'review.cancelled':
      return `assignment of ${d['expertId']} cancelled (${d['reason']})`;
    case 'sla.warning':
      return `SLA warning: ${d['expertId']} is due at ${d['slaDueAt']}`;
    case 'sla.breached':
      return `SLA breached: ${d['expertId']} was due at ${d['slaDueAt']}`;
    case 'compliance.evaluated':
      return `compliance ${d['status'] ?? (d['passed'] ? 'passed' : 'evaluated')}`;
    case 'decision.escalated':
      return `escalated (${d['reason']}, level ${d['level']}) to ${(d['assignees'] as Array<{ expertId: string }>).map((a) => a.expertId).join(', ')}, due ${d['dueAt']}`;
    case 'decision.made':
      return `decision: ${d['outcome']} — ${d['decisionRationale']}`;
    default:
      return event.type;
  }
}

/**
 * Follows a request to its decision and turns it into the exit code: 0 proceed, 1 blocked, 2 undecided when
 * `timeoutMs` passes (or escalated to a human and not resolved). Reconnects through restarts and drops.
 */
export async function followToDecision(client: AgfClient, id: string, settings: FollowSettings): Promise<number> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), settings.timeoutMs);
  let escalated = false;
  try {
    for await (const event of client.follow(id, {
      signal: controller.signal,
      onReconnect: (attempt, reason, delay) => {
        if (!settings.json) process.stderr.write(`${new Date().toISOString()} connection lost (${reason}); reconnecting in ${delay} ms (attempt ${attempt})\n`);
      },
    })) {
      say(settings, describe(event), event);
      if (event.type === 'decision.escalated') escalated = true;
      if (event.type === 'decision.made') return report(event.data as unknown as DecisionMade, settings);
    }
  } catch (error) {
    if (error instanceof AgfError) throw error;
    if (!controller.signal.aborted) throw error;
  } finally {
    clearTimeout(timer);
  }
  const message = `request ${id} still undecided after ${Math.round(settings.timeoutMs / 1000)} s${escalated ? ' (escalated to a person, not resolved yet)' : ''}`;
  if (settings.json) process.stdout.write(`${JSON.stringify({ requestId: id, decided: false, escalated })}\n`);
  else process.stderr.write(`${message}\n`);
  return EXIT.undecided;
}

function report(decision: DecisionMade, settings: FollowSettings): number {
  writeFileSync(settings.decisionFile, `${JSON.stringify(decision, null, 2)}\n`);
  const code = decision.approved ? EXIT.proceed : decision.outcome === 'BLOCK_WITH_FEEDBACK' ? EXIT.blocked : EXIT.undecided;
  if (settings.json) return code;
  const out = code === EXIT.proceed ? process.stdout : process.stderr;
  out.write(`\n${decision.outcome} (risk ${decision.riskScore.toFixed(2)}, confidence ${decision.confidenceScore.toFixed(2)}, tier ${decision.tierLevel})\n`);
  // A block's conditions are its reviewers' objections, printed once below as feedback.
  if (decision.conditions.length && code !== EXIT.blocked) out.write(`conditions:\n${decision.conditions.map((c) => `  - ${c}`).join('\n')}\n`);
  if (decision.monitoringRequirements.length) {
    out.write(`monitoring:\n${decision.monitoringRequirements.map((m) => `  - ${m.metric} ${m.comparison} ${m.threshold}${unitSuffix(m.unit)} for ${m.durationMinutes} min (${m.reason})`).join('\n')}\n`);
  }
  if (code === EXIT.blocked) {
    const feedback = decision.expertReviews.filter((r) => r.decision === 'reject').map((r) => `  - ${r.expertId}: ${r.comments}`);
    out.write(`feedback:\n${feedback.join('\n') || `  ${decision.decisionRationale}`}\n`);
  }
  out.write(`decision written to ${settings.decisionFile}\n`);
  return code;
}

/** `72h`, `30m`, `45s`, `500ms` or plain seconds. */
export function parseDuration(text: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(text.trim());
  if (!match) throw new CliExit(EXIT.usage, `not a duration: ${text} (e.g. 72h, 30m, 45s)`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[(match[2] ?? 's') as 'ms' | 's' | 'm' | 'h' | 'd'];
  return Number(match[1]) * unit;
}

/** `1%`, `500 ms`, and no suffix for a plain ratio. */
function unitSuffix(unit: string): string {
  if (!unit || unit === 'ratio') return '';
  return unit === '%' ? unit : ` ${unit}`;
}

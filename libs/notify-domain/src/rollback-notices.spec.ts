import { randomUUID } from 'node:crypto';
import type { NotificationChannel, NotificationRoute } from '@agf/policy';
import { noticeOf } from './notices';
import { planDeliveries, type RecipientDirectory } from './routing';

const requestId = randomUUID();
const time = '2026-12-05T12:00:00.000Z';
const directory: RecipientDirectory = { emailOf: () => undefined, phoneOf: () => undefined, oversightExperts: () => ['cto'] };

describe('rollback notices (the rollout guard)', () => {
  const requested = noticeOf('rollback.requested', {
    id: 'e1',
    time,
    data: {
      requestId,
      projectId: 'shop',
      componentName: 'cart',
      version: '2.0.0',
      previousVersion: '1.9.0',
      reason: 'error_rate = 20% breaks "http_error_rate above 1%"',
      failedCriteria: [],
      steps: ['redeploy 1.9.0'],
      requester: 'ci-bot',
      emergency: false,
      signalAt: time,
      requestedAt: time,
      dueAt: '2026-12-05T12:15:00.000Z',
    },
  });

  it('a requested rollback is critical, pages, and says what failed and by when to confirm', () => {
    expect(requested).toMatchObject({ event: 'rollback', severity: 'critical', incident: 'trigger', requestId, projectId: 'shop' });
    expect(requested.title).toContain('cart 2.0.0');
    expect(requested.details).toMatchObject({ stage: 'requested', previousVersion: '1.9.0', requester: 'ci-bot', dueAt: '2026-12-05T12:15:00.000Z' });
  });

  it('its SLA breach is critical; its confirmation is info and resolves the page', () => {
    const breached = noticeOf('rollback.escalated', { id: 'e2', time, data: { requestId, projectId: 'shop', componentName: 'cart', stage: 'breached', requestedAt: time, dueAt: time, firedAt: time } });
    expect(breached).toMatchObject({ event: 'rollback', severity: 'critical', incident: 'trigger', details: { stage: 'breached' } });
    const completed = noticeOf('rollback.completed', {
      id: 'e3',
      time,
      data: { requestId, projectId: 'shop', componentName: 'cart', confirmedBy: 'rolled-back', requestedAt: time, completedAt: time, durationSeconds: 240, withinTarget: true },
    });
    expect(completed).toMatchObject({ event: 'rollback', severity: 'info', incident: 'resolve', details: { stage: 'completed', withinTarget: true } });
  });

  it('reaches the routes that list rollback: on-call channels and oversight', () => {
    const channels: NotificationChannel[] = [
      { name: 'pager', kind: 'pagerduty', routing_key: 'k' } as NotificationChannel,
      { name: 'ops', kind: 'webhook', url: 'https://ops.example.com/hook', secret: 's' } as NotificationChannel,
    ];
    const routes = [{ events: ['rollback'], channels: ['pager', 'ops'] }, { events: ['decision'], channels: ['ops'] }] as NotificationRoute[];
    expect(planDeliveries(requested, routes, channels, directory).deliveries).toEqual([
      { channel: 'pager', channelKind: 'pagerduty', recipient: 'channel', action: 'trigger' },
      { channel: 'ops', channelKind: 'webhook', recipient: 'channel' },
    ]);
  });
});

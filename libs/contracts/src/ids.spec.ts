import { CloudEventEnvelope, createEvent } from './envelope';
import { newId } from './ids';

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('newId', () => {
  it('gives UUIDv7s that the envelope schema accepts and events carry', () => {
    expect(newId()).toMatch(UUID_V7);
    const event = createEvent({ name: 'deployment.outcome', source: 'intake', correlationId: newId(), data: { requestId: newId(), projectId: 'p', componentName: 'c', version: '1.0.0', status: 'succeeded', reportedAt: new Date().toISOString() } });
    expect(event.id).toMatch(UUID_V7);
    expect(CloudEventEnvelope.safeParse(event).success).toBe(true);
  });

  it('orders ids by creation time, as Postgres compares uuids (byte by byte), so index inserts land at the right edge', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 20; i += 1) {
      ids.push(newId());
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
  });
});

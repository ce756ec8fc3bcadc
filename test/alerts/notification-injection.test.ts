// A rule's name and filter value are chosen by any member of the app: in Slack and Discord messages they must not
// ping everyone, mention people or make links of their own.
import { describe, expect, test } from 'vitest';
import { httpNotification, type OutboxPayload } from '../../src/alerts/index.ts';

const payload: OutboxPayload = {
  alert: {
    ruleId: 1,
    name: '<!channel> <https://evil.example/login|Click to fix> @everyone & co',
    appId: 'default',
    state: 'firing',
    metric: 'playback_failure_pct',
    value: 12,
    threshold: 5,
    windowMinutes: 5,
    at: 1_800_000_000_000,
    url: 'https://m3w.example/overview?app=default',
    op: 'above',
    filter: { country: '<!here>' },
  },
};

describe('notification bodies with hostile names', () => {
  test('Slack: <, > and & are escaped everywhere but the dashboard link', () => {
    const body = JSON.parse(httpNotification('slack', { url: 'https://hooks.slack.com/x' }, payload, 1).body);
    const texts = [body.text, body.blocks[0].text.text];
    for (const t of texts) {
      expect(t).not.toMatch(/<!channel>|<!here>|<https:\/\/evil/);
      expect(t).toContain('&lt;!channel&gt;');
      expect(t).toContain('&amp; co');
    }
    expect(body.blocks[1].elements[0].text).toBe('<https://m3w.example/overview?app=default|Open in m3w>');
  });

  test('Discord: no mentions are parsed', () => {
    const body = JSON.parse(
      httpNotification('discord', { url: 'https://discord.com/api/webhooks/1/x' }, payload, 1).body,
    );
    expect(body.allowed_mentions).toEqual({ parse: [] });
    expect(body.content).toContain('@everyone');
  });
});

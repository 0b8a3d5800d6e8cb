import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import {
  emailMessage,
  judgeTarget,
  type Notice,
  pagerDutyBody,
  SIGNATURE_HEADER,
  slackBody,
  smsText,
  TIMESTAMP_HEADER,
  type TargetVerdict,
  webhookBody,
  webhookSignature,
} from '@agf/notify-domain';
import type { NotificationChannel } from '@agf/policy';
import type { Transporter } from 'nodemailer';
import { DataSource } from 'typeorm';
import { type DeliveryRow, deliveriesRepository as repo } from './deliveries.repository';
import { NOTIFY_CONFIG, type NotifyConfig } from './notify-config';

/** A failed attempt; its message is safe to store and show (never a secret, a URL path or a body). */
export class DeliveryFailure extends Error {
  override name = 'DeliveryFailure';
  constructor(
    message: string,
    /** No retry can succeed (the subscription was deleted): dead-lettered at once. */
    readonly permanent = false,
  ) {
    super(message);
  }
}

/** The channel name of a project-level subscription's deliveries. */
export const SUBSCRIPTION_CHANNEL_PREFIX = 'subscription:';

const USER_AGENT = 'AGF-Notify/1';

/** nodemailer holds a few MB of heap once required: loaded with the first email, not by every notify process at start. */
let nodemailerModule: Promise<typeof import('nodemailer')> | undefined;

/** Sends one delivery over its channel; resolves when the receiver accepted it, throws DeliveryFailure otherwise. */
@Injectable()
export class ChannelSenders implements OnModuleDestroy {
  private readonly channels: Map<string, NotificationChannel>;
  private readonly mailers = new Map<string, Transporter>();

  constructor(
    @Inject(NOTIFY_CONFIG) private readonly config: NotifyConfig,
    private readonly dataSource: DataSource,
  ) {
    this.channels = new Map(config.notifications.channels.map((channel) => [channel.name, channel]));
  }

  onModuleDestroy(): void {
    for (const mailer of this.mailers.values()) mailer.close();
  }

  async send(delivery: DeliveryRow): Promise<void> {
    const notice = delivery.notice;
    const link = this.config.notifications.link_base_url;
    if (delivery.channel.startsWith(SUBSCRIPTION_CHANNEL_PREFIX)) {
      const subscription = await repo.subscription(this.dataSource, delivery.channel.slice(SUBSCRIPTION_CHANNEL_PREFIX.length));
      if (!subscription) throw new DeliveryFailure('the subscription was deleted', true);
      // Checked again now, on the address actually connected to: the name may resolve elsewhere than when it was registered.
      return this.postSigned(subscription.url, subscription.secret, delivery.id, notice, (host, addresses) => judgeTarget(host, addresses, this.config.allowedHosts));
    }
    const channel = this.channels.get(delivery.channel);
    if (!channel) throw new DeliveryFailure(`channel ${delivery.channel} is no longer configured`, true);
    switch (channel.kind) {
      case 'webhook':
        return this.postSigned(channel.url, channel.secret, delivery.id, notice);
      case 'slack':
        return this.post(channel.webhook_url, JSON.stringify(slackBody(notice, link)), {});
      case 'pagerduty':
        return this.post(channel.url, JSON.stringify(pagerDutyBody(channel.routing_key, notice, link, delivery.action === 'resolve' ? 'resolve' : 'trigger')), {});
      case 'sms':
        return this.post(channel.url, JSON.stringify({ to: delivery.address, text: smsText(channel.template, notice, link), id: delivery.id }), channel.token ? { authorization: `Bearer ${channel.token}` } : {});
      case 'email':
        return this.mail(channel, delivery, notice);
    }
  }

  private postSigned(url: string, secret: string, deliveryId: string, notice: Notice, guard?: Guard): Promise<void> {
    const body = JSON.stringify(webhookBody(deliveryId, notice, this.config.notifications.link_base_url));
    const timestamp = Math.floor(Date.now() / 1000);
    return this.post(url, body, { [TIMESTAMP_HEADER]: String(timestamp), [SIGNATURE_HEADER]: webhookSignature(secret, timestamp, body), 'X-AGF-Delivery': deliveryId }, guard);
  }

  private async mail(channel: Extract<NotificationChannel, { kind: 'email' }>, delivery: DeliveryRow, notice: Notice): Promise<void> {
    if (!delivery.address) throw new DeliveryFailure('no email address', true);
    let mailer = this.mailers.get(channel.name);
    if (!mailer) {
      const { createTransport } = await (nodemailerModule ??= import('nodemailer'));
      // Another email of this channel may have made its transport while the module loaded.
      mailer = this.mailers.get(channel.name) ?? createTransport(channel.smtp_url);
      this.mailers.set(channel.name, mailer);
    }
    const message = emailMessage(notice, this.config.notifications.link_base_url, channel.subject_prefix);
    try {
      await mailer.sendMail({ from: channel.from, to: delivery.address, subject: message.subject, text: message.text, headers: { 'X-AGF-Delivery': delivery.id } });
    } catch (error) {
      const e = error as { code?: string; responseCode?: number; message?: string };
      // The SMTP URL may carry credentials: say what failed, never where.
      throw new DeliveryFailure(`SMTP ${e.responseCode ?? e.code ?? 'error'}${e.responseCode ? '' : `: ${String(e.message ?? '').replace(/\S+@\S+/g, '<address>').slice(0, 200)}`}`);
    }
  }

  private post(target: string, body: string, headers: Record<string, string>, guard?: Guard): Promise<void> {
    const url = new URL(target);
    // The stored message names the host only: a Slack URL's path is its secret.
    const where = url.host;
    if (guard && isIP(url.hostname.replace(/^\[|\]$/g, ''))) {
      const verdict = guard(url.hostname, [url.hostname.replace(/^\[|\]$/g, '')]);
      if (!verdict.ok) return Promise.reject(new DeliveryFailure(`refused target: ${verdict.reason}`));
    }
    const client = url.protocol === 'https:' ? https : http;
    return new Promise<void>((resolve, reject) => {
      const request = client.request(
        url,
        {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'user-agent': USER_AGENT, ...headers },
          timeout: this.config.sendTimeoutMs,
          ...(guard ? { lookup: guardedLookup(guard) } : {}),
        },
        (response) => {
          response.resume();
          response.on('end', () => {
            const status = response.statusCode ?? 0;
            if (status >= 200 && status < 300) resolve();
            else reject(new DeliveryFailure(`HTTP ${status} from ${where}`));
          });
          response.on('error', () => reject(new DeliveryFailure(`answer from ${where} broke off`)));
        },
      );
      request.on('timeout', () => request.destroy(new DeliveryFailure(`no answer from ${where} within ${this.config.sendTimeoutMs} ms`)));
      request.on('error', (error: NodeJS.ErrnoException) => reject(error instanceof DeliveryFailure ? error : new DeliveryFailure(`${where}: ${error.code ?? error.message}`)));
      request.end(body);
    });
  }
}

type Guard = (host: string, addresses: string[]) => TargetVerdict;

/** A DNS lookup that refuses the connection unless every address the name resolves to passes the guard. */
function guardedLookup(guard: Guard): LookupFunction {
  return (hostname, options, callback) => {
    dnsLookup(hostname, { all: true, family: options.family as number | undefined }, (error, addresses: LookupAddress[]) => {
      if (error) return callback(error, '', 0);
      const verdict = guard(hostname, addresses.map((a) => a.address));
      if (!verdict.ok) return callback(new DeliveryFailure(`refused target: ${verdict.reason}`) as unknown as NodeJS.ErrnoException, '', 0);
      if ((options as { all?: boolean }).all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, addresses);
      callback(null, addresses[0]!.address, addresses[0]!.family);
    });
  };
}

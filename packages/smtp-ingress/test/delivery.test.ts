import nodemailer, { type SendMailOptions } from 'nodemailer';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Harness, inbox, startIngress } from './helpers.js';

describe('SMTP ingress delivery (nodemailer)', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startIngress();
  });
  afterEach(() => h.close());

  const send = (mail: SendMailOptions) =>
    nodemailer
      .createTransport({ host: '127.0.0.1', port: h.port, secure: false, ignoreTLS: true })
      .sendMail(mail);

  it('stores an accepted message with Return-Path, Delivered-To and a Received line carrying the trace id', async () => {
    const info = await send({
      from: 'sender@example.org',
      to: 'alice@yubin.test',
      subject: 'Hello',
      text: 'First line\n.leading dot\nlast',
    });
    expect(info.response).toBe('250 2.6.0 OK: queued as trace1');
    const [raw] = await inbox(h.store, 'alice@yubin.test');
    expect(raw).toBeDefined();
    const lines = (raw as string).split('\r\n');
    expect(lines[0]).toBe('Return-Path: <sender@example.org>');
    expect(lines[1]).toBe('Delivered-To: alice@yubin.test');
    expect(lines[2]).toMatch(/^Received: from \S+ \(\[127\.0\.0\.1\]\)$/);
    expect(lines[3]).toBe('\tby mx.yubin.test (yubin) with ESMTP');
    expect(lines[4]).toBe('\tid trace1');
    expect(lines[5]).toBe('\tfor <alice@yubin.test>;');
    expect(raw).toContain('Subject: Hello\r\n');
    // RFC 5321 §4.5.2: the transparency dot is removed on receipt.
    expect(raw).toContain('\r\n.leading dot\r\n');
    expect(raw).not.toMatch(/[^\r]\n/);
  });

  it('keeps every body byte when the store is slow to begin the delivery', async () => {
    h.store.slowBegin(150);
    const text = Array.from({ length: 2000 }, (_, i) => `line ${i} of a body that must arrive whole`).join(
      '\n',
    );
    await send({ from: 'sender@example.org', to: 'alice@yubin.test', subject: 'slow store', text });
    const [raw] = await inbox(h.store, 'alice@yubin.test');
    expect(raw).toContain('Subject: slow store\r\n');
    expect(raw).toContain('line 0 of a body');
    expect(raw).toContain('line 1999 of a body that must arrive whole');
  });

  it('delivers one copy per mailbox when an alias and a direct address reach the same user', async () => {
    await send({
      from: 'sender@example.org',
      to: ['team@yubin.test', 'alice@yubin.test', 'bob+lists@yubin.test'],
      subject: 'Team',
      text: 'hi',
    });
    expect(await inbox(h.store, 'alice@yubin.test')).toHaveLength(1);
    const bob = await inbox(h.store, 'bob@yubin.test');
    expect(bob).toHaveLength(1);
    expect(bob[0]).toContain('Delivered-To: bob@yubin.test\r\n');
    // More than one recipient: the Received line must not disclose them (RFC 5321 §4.4).
    expect(bob[0]).not.toContain('\tfor <');
  });

  it('routes an unknown local part of a catch-all domain to the catch-all mailbox', async () => {
    await send({ from: 'a@example.org', to: 'anything@other-local.test', subject: 'c', text: 'x' });
    expect(await inbox(h.store, 'carol@other-local.test')).toHaveLength(1);
  });

  it('keeps 8-bit and UTF-8 headers and bodies byte-exact (RFC 6531, RFC 6152)', async () => {
    await send({
      from: 'José <jose@example.org>',
      to: 'alice@yubin.test',
      subject: '郵便 ✉ Grüße',
      text: 'Ünïcödé body — 日本語\n',
    });
    const [raw] = await inbox(h.store, 'alice@yubin.test');
    const { simpleParser } = await import('mailparser');
    const parsed = await simpleParser(Buffer.from(raw as string, 'utf8'));
    expect(parsed.subject).toBe('郵便 ✉ Grüße');
    expect(parsed.text).toBe('Ünïcödé body — 日本語\n');
  });
});

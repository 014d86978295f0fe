/**
 * Victims are not causes: test/diagnose/fixtures/victim-app.mjs has one route that blocks the loop for 100 ms and
 * another that makes three serial calls to a stand-in in another process (this test's), each answering in 40 ms — so
 * the calls are not slow, but their answers wait whenever /block holds the loop. Run under the real probes with both
 * routes in flight at once, diagnose must price the serial calls at what they take (sum − max = 80 ms), say how
 * much waiting it took out, and rank the blocking call — the cause — above them.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FindingsFile } from '../../profiles/contract/index.js';
import { writeFindings } from '../../scripts/diagnose/index.js';
import { profileApp } from './fixture-run.js';

const APP = fileURLToPath(new URL('./fixtures/victim-app.mjs', import.meta.url));
const UPSTREAM_MS = 40;
/** What starting the three calls together would save: sum − max. */
const TRUE_SAVING_MS = 3 * UPSTREAM_MS - UPSTREAM_MS;
const RUN_MS = 9000;

let root = '';
let upstream: Server | null = null;
let findings: FindingsFile;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'looplens-victims-'));
  upstream = createServer((req, res) => {
    req.resume();
    setTimeout(() => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ path: req.url })), UPSTREAM_MS);
  });
  await new Promise<void>((resolve) => upstream!.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
  const out = join(root, 'run');
  await profileApp({
    app: APP,
    out,
    env: { UPSTREAM: url, BLOCK_MS: '100' },
    plan: async (base) => {
      const until = Date.now() + RUN_MS;
      const get = async (path: string) => {
        const res = await fetch(`${base}${path}`);
        await res.arrayBuffer();
        if (res.status !== 200) throw new Error(`${path} answered ${res.status}`);
      };
      // /block on two connections, each pausing 150 ms between requests (the loop blocked about half the time, often
      // two blocks back to back); /serial on three connections throughout
      const blocker = async () => {
        while (Date.now() < until) {
          await get('/block');
          await new Promise((r) => setTimeout(r, 150));
        }
      };
      const serial = async () => {
        while (Date.now() < until) await get('/serial');
      };
      await Promise.all([blocker(), blocker(), serial(), serial(), serial()]);
    },
  });
  findings = writeFindings(out);
}, 90_000);

afterAll(async () => {
  await new Promise<void>((resolve) => (upstream ? upstream.close(() => resolve()) : resolve()));
  if (!process.env.KEEP) rmSync(root, { recursive: true, force: true });
  else console.log(`kept ${root}`);
});

describe('diagnose with victims', () => {
  it('prices the serial calls at what they take, not at what other requests\' blocks made them look', () => {
    const serial = findings.findings.find((f) => f.kind === 'serial-external-calls' && f.route === 'GET /serial');
    expect(serial, JSON.stringify(findings.findings.map((f) => f.title))).toBeDefined();
    console.log(`serial saving ${serial!.savingMsPerRequest} ms (truth ${TRUE_SAVING_MS}), before taking waiting out ${String(serial!.evidence.savingBeforeWaitingMs)} ms`);
    expect(serial!.savingMsPerRequest).toBeGreaterThanOrEqual(TRUE_SAVING_MS * 0.75);
    expect(serial!.savingMsPerRequest).toBeLessThanOrEqual(TRUE_SAVING_MS * 1.25);
    // the waiting was there, and the finding says how much it took out and behind which block
    expect(Number(serial!.evidence.waitingTakenOutMs)).toBeGreaterThan(5);
    expect(JSON.stringify(serial!.evidence.waitedBehind)).toContain('looplensVictimBlock');
  });

  it('ranks the blocking call, the cause, above the serial calls that waited behind it', () => {
    const kinds = findings.findings.map((f) => `${f.kind} ${f.route}`);
    const blocking = kinds.indexOf('blocking-call GET /block');
    const serial = kinds.indexOf('serial-external-calls GET /serial');
    expect(blocking, kinds.join('\n')).toBeGreaterThanOrEqual(0);
    expect(blocking).toBeLessThan(serial);
    expect(findings.findings[blocking]!.title).toContain('looplensVictimBlock');
  });
});

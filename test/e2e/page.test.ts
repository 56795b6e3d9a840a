// The callbacks passed to page.evaluate run in the browser: they need the DOM types (typecheck only; the build covers src/ alone, without them).
/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
import { existsSync } from 'node:fs';
import { mkdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { launch, type Browser, type Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, GoavailProcess } from '../support/cli.js';
import { scratch, waitFor, type Scratch } from '../support/kit.js';
import { LABS } from '../support/labs.js';
import { createNsLab, type NsLab } from '../support/netns.js';

/**
 * The status page in a real browser: Debian's chromium driven by
 * puppeteer-core, against the built CLI (dry-run, simulated zone) probing
 * three namespace hosts over ICMP. The browser may load only the agent's
 * loopback page and its JSON: every other request is blocked and counted
 * (none may be attempted, which shows the page is self-contained).
 *
 * Skipped only when chromium is absent and CI is not set; in CI a missing
 * browser fails the file (`.ci/run` installs it with apt).
 * GOAVAIL_TEST_SCREENSHOT_DIR=<dir> keeps the screenshots (else they go to
 * the scratch folder, removed at the end); their paths are printed.
 */
const CHROMIUM = process.env.GOAVAIL_CHROMIUM ?? '/usr/bin/chromium';
const HAVE_CHROMIUM = existsSync(CHROMIUM);
const IN_CI = (process.env.CI ?? '') !== '' && process.env.CI !== 'false';
const WWW = 'www.example.com';
const API = 'api.example.com';
const NO_CREDENTIALS = { CLOUDFLARE_API_TOKEN: '', CF_API_KEY: '', CF_API_EMAIL: '', CLOUDFLARE_API_KEY: '', CLOUDFLARE_EMAIL: '' };
/** What the page may fetch: itself and the two documents it polls. */
const PAGE_PATHS = new Set(['/', '/status', '/events']);

function config(ips: readonly string[], failureThreshold: string = '2'): string {
  return `
failure_threshold = ${failureThreshold}
interval = 0.3
timeout = 0.15
status_addr = "127.0.0.1:0"
[Cloudflare]
dns_proxied = false
dns_domain = "example.com"
hostnames = ["www", "api"]
ip_addresses = [${ips.map((ip) => `"${ip}"`).join(', ')}]
`;
}

interface StatusTarget {
  ip: string;
  local: { verdict: string };
  cluster: { verdict: string };
  inDns: Record<string, boolean | null>;
  why: string | null;
}

/** What one IP card shows. */
interface Shown {
  ip: string;
  role: string;
  local: string;
  streak: string;
  rtt: string;
  cluster: string;
  dns: Record<string, string>;
  why: string | null;
}

function shown(page: Page): Promise<Shown[]> {
  return page.$$eval('article.card', (cards) =>
    cards.map((c) => {
      const field = (name: string): string | null => c.querySelector(`[data-field="${name}"]`)?.textContent ?? null;
      const dns: Record<string, string> = {};
      for (const li of c.querySelectorAll<HTMLElement>('li[data-host]')) dns[li.dataset.host!] = li.lastElementChild?.textContent ?? '';
      return {
        ip: (c as HTMLElement).dataset.ip ?? '',
        role: c.querySelector('.role')?.textContent ?? '',
        local: field('local') ?? '',
        streak: field('streak') ?? '',
        rtt: field('rtt') ?? '',
        cluster: field('cluster') ?? '',
        dns,
        why: field('why'),
      };
    }),
  );
}

async function statusTargets(addr: string): Promise<StatusTarget[]> {
  const res = await fetch(`http://${addr}/status`);
  return ((await res.json()) as { targets: StatusTarget[] }).targets;
}

/** The page and /status agree on IPs, verdicts, DNS presence and `why` (read until a poll lands between them). */
async function expectPageMatchesStatus(page: Page, addr: string): Promise<Shown[]> {
  let last = '';
  return waitFor(
    'the page to show what /status says',
    async () => {
      const [cards, targets] = [await shown(page), await statusTargets(addr)];
      const want = targets.map((t) => ({
        ip: t.ip,
        local: t.local.verdict,
        cluster: t.cluster.verdict,
        dns: Object.fromEntries(Object.entries(t.inDns).map(([h, v]) => [h, v === true ? 'in DNS' : v === false ? 'not in DNS' : 'not read yet'])),
        why: t.why,
      }));
      const got = cards.map(({ ip, local, cluster, dns, why }) => ({ ip, local, cluster, dns, why }));
      last = `page ${JSON.stringify(got)}\nstatus ${JSON.stringify(want)}`;
      return JSON.stringify(got) === JSON.stringify(want) ? cards : undefined;
    },
    { timeoutMs: 10_000 },
  ).catch((err: unknown) => {
    throw new Error(`${String(err)}\n${last}`);
  });
}

describe.skipIf(!HAVE_CHROMIUM && !IN_CI)('the status page in chromium (built CLI, namespace hosts)', () => {
  let lab: NsLab;
  let dir: Scratch;
  let browser: Browser | undefined;
  let agent: GoavailProcess | undefined;
  let shotDir: string;

  beforeAll(async () => {
    if (!HAVE_CHROMIUM) {
      throw new Error(
        `CI is set but ${CHROMIUM} is missing: the status page test must run in CI; install it with \`apt-get install -y chromium\` (.ci/run does)`,
      );
    }
    assertBuilt();
    lab = await createNsLab({ ...LABS['e2e/page'], count: 3 });
    dir = await scratch('page');
    shotDir = process.env.GOAVAIL_TEST_SCREENSHOT_DIR ?? dir.dir;
    await mkdir(shotDir, { recursive: true });
    browser = await launch({
      executablePath: CHROMIUM,
      headless: true, // --headless=new
      userDataDir: join(dir.dir, 'chromium'),
      // Root in CI: chromium's sandbox needs an unprivileged user.
      args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run', '--no-default-browser-check'],
    });
  });
  afterAll(async () => {
    agent?.kill();
    const proc = browser?.process();
    await Promise.race([browser?.close(), new Promise((r) => setTimeout(r, 5_000))]).catch(() => undefined);
    proc?.kill('SIGKILL');
    await lab?.cleanup();
    await dir?.cleanup();
  });

  it('shows what /status says, follows a host going down without a reload, escapes what it shows, and says when the agent is gone', async () => {
    const ips = lab.hosts.map((h) => h.ip);
    const file = await dir.write('goavail.toml', config(ips));
    agent = new GoavailProcess(['monitor', '-f', file], { env: NO_CREDENTIALS });
    const addr = (await agent.waitForLog((l) => l.msg === 'status listener ready')).statusAddr as string;
    const origin = `http://${addr}`;

    const page = await browser!.newPage();
    const blocked: string[] = [];
    const fetched: string[] = [];
    const problems: string[] = [];
    let navigations = 0;
    await page.setRequestInterception(true);
    page.on('request', (req) => {
      const url = req.url();
      if (url.startsWith('data:')) return void req.continue();
      const u = new URL(url);
      if (u.origin === origin) {
        fetched.push(u.pathname);
        return void req.continue();
      }
      blocked.push(url);
      void req.abort('blockedbyclient');
    });
    page.on('pageerror', (err) => problems.push(`page error: ${String(err)}`));
    page.on('console', (m) => {
      // Failed polls after the agent stops are expected; anything else (a CSP refusal included) is not.
      if (m.type() === 'error' && !/Failed to load resource|ERR_CONNECTION_REFUSED/.test(m.text())) problems.push(`console: ${m.text()}`);
    });
    page.on('framenavigated', (f) => {
      if (f === page.mainFrame()) navigations += 1;
    });

    // A phone.
    await page.setViewport({ width: 390, height: 844, isMobile: true, hasTouch: true, deviceScaleFactor: 2 });
    await page.goto(`${origin}/`, { waitUntil: 'load' });
    navigations = 0; // from here on, any navigation would be a reload
    await page.waitForFunction(
      (n: number) => {
        const cards = [...document.querySelectorAll('article.card')];
        return (
          document.body.dataset.state === 'ok' &&
          cards.length === n &&
          cards.every((c) => c.querySelector('[data-field="cluster"]')?.textContent === 'up' && c.querySelectorAll('li[data-host]').length === 2)
        );
      },
      { timeout: 20_000 },
      ips.length,
    );
    const first = await expectPageMatchesStatus(page, addr);
    expect(first.map((c) => c.ip)).toEqual(ips);
    for (const c of first) {
      expect(c).toMatchObject({ role: 'A record target', local: 'up', cluster: 'up', dns: { [WWW]: 'in DNS', [API]: 'in DNS' }, why: null });
      expect(c.streak).toMatch(/^\d+ ok$/);
      expect(c.rtt).toMatch(/^[\d.]+ ms$/);
    }
    // Readable on a phone: nothing wider than the screen.
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    const phoneShot = join(shotDir, 'page-phone-all-up.png');
    await page.screenshot({ path: phoneShot, fullPage: true });

    // Host 2 stops answering pings: the page follows, in the same document.
    await page.evaluate(() => {
      (window as unknown as { sameDocument: boolean }).sameDocument = true;
    });
    const down = ips[2]!;
    await lab.hosts[2]!.down();
    await page.waitForFunction(
      (ip: string) => {
        const c = document.querySelector(`article.card[data-ip="${ip}"]`);
        const dns = [...(c?.querySelectorAll('li[data-host]') ?? [])].map((li) => li.lastElementChild?.textContent);
        return c?.querySelector('[data-field="cluster"]')?.textContent === 'down' && dns.length === 2 && dns.every((t) => t === 'not in DNS');
      },
      { timeout: 20_000 },
      down,
    );
    const after = await expectPageMatchesStatus(page, addr);
    expect(after[2]).toMatchObject({ local: 'down', cluster: 'down', dns: { [WWW]: 'not in DNS', [API]: 'not in DNS' } });
    expect(after[2]!.why).toMatch(/^down by agreement of self since \d{4}-/);
    expect(after[2]!.streak).toMatch(/^\d+ misses$/);
    expect(after.slice(0, 2).every((c) => c.cluster === 'up' && c.dns[WWW] === 'in DNS')).toBe(true);
    expect(await page.evaluate(() => (window as unknown as { sameDocument?: boolean }).sameDocument)).toBe(true);
    expect(navigations).toBe(0);
    // The recent events, newest first, with times; /events has the same.
    // (/events may be answered a moment before /status: wait for the next poll at most.)
    const wanted = [
      `cluster verdict: ${down} up → down`,
      `would remove A ${WWW} ${down} (dry-run)`,
      `would remove A ${API} ${down} (dry-run)`,
      `local verdict: ${down} up → down`,
    ];
    await page
      .waitForFunction(
        (w: string[]) => {
          const lines = [...document.querySelectorAll('#events li')].map((li) => li.textContent ?? '');
          return w.every((x) => lines.some((l) => l.includes(x)));
        },
        { timeout: 10_000 },
        wanted,
      )
      .catch(async (err: unknown) => {
        throw new Error(
          `${String(err)}\nwanted ${JSON.stringify(wanted)}\nshown ${JSON.stringify(await page.$$eval('#events li', (lis) => lis.map((li) => li.textContent)))}`,
        );
      });
    const events = await page.$$eval('#events li', (lis) => lis.map((li) => li.textContent ?? ''));
    expect(events[0]).toMatch(/^\d\d:\d\d:\d\dZ/);
    const history = (await (await fetch(`${origin}/events`)).json()) as { events: Array<{ kind: string; text: string }>; rtt: Record<string, unknown[]> };
    expect(history.events.filter((e) => e.kind === 'dns-change').map((e) => e.text)).toEqual(
      expect.arrayContaining([`would remove A ${WWW} ${down} (dry-run)`, `would remove A ${API} ${down} (dry-run)`]),
    );
    expect(Object.keys(history.rtt).sort()).toEqual([...ips].sort());
    // The RTT sparkline: a line for a host that answers, miss marks for the one that does not.
    expect(await page.$eval(`article.card[data-ip="${ips[0]}"] svg.spark polyline`, (p) => p.getAttribute('points')?.split(' ').length ?? 0)).toBeGreaterThan(
      2,
    );
    expect(await page.$$eval(`article.card[data-ip="${down}"] svg.spark line.miss`, (l) => l.length)).toBeGreaterThan(0);

    // A wide screen (isMobile and hasTouch unchanged: changing them makes puppeteer reload the page).
    await page.setViewport({ width: 1280, height: 900, isMobile: true, hasTouch: true, deviceScaleFactor: 1 });
    const desktopShot = join(shotDir, 'page-desktop-one-down.png');
    await page.screenshot({ path: desktopShot, fullPage: true });

    // Text from outside is shown, never parsed: a reload error that quotes markup from the file.
    const markup = '<img src=x onerror=window.pwned=1>';
    await dir.write('goavail.toml', config(ips, JSON.stringify(markup)));
    agent.child.kill('SIGHUP');
    await page.waitForFunction(() => [...document.querySelectorAll('#events li')].some((li) => li.textContent?.includes('config reload failed')), {
      timeout: 20_000,
    });
    const reloadLine = await page.$$eval('#events li', (lis) => lis.map((li) => li.textContent ?? '').find((t) => t.includes('config reload failed')));
    expect(reloadLine).toContain(markup);
    expect(await page.evaluate(() => document.querySelectorAll('img').length)).toBe(0);
    expect(await page.evaluate(() => (window as unknown as { pwned?: number }).pwned)).toBeUndefined();

    // The agent goes away: the page says so and keeps the last data, dimmed.
    expect((await agent.stop()).code).toBe(0);
    await page.waitForFunction(() => document.body.dataset.state === 'unreachable', { timeout: 15_000 });
    const banner = await page.$eval('#banner', (b) => ({ hidden: (b as HTMLElement).hidden, text: b.textContent ?? '' }));
    expect(banner.hidden).toBe(false);
    expect(banner.text).toMatch(/^cannot reach the agent for [\d.]+s \(connection failed\): showing data from \d\d:\d\d:\d\dZ/);
    expect((await shown(page)).map((c) => c.ip)).toEqual(ips);
    const goneShot = join(shotDir, 'page-desktop-unreachable.png');
    await page.screenshot({ path: goneShot, fullPage: false });

    for (const p of [phoneShot, desktopShot, goneShot]) expect((await stat(p)).size).toBeGreaterThan(10_000);
    console.log(`status page screenshots: ${phoneShot} ${desktopShot} ${goneShot}`);
    expect(problems).toEqual([]);
    expect(blocked).toEqual([]);
    expect([...new Set(fetched)].sort()).toEqual([...PAGE_PATHS].sort());
    expect(navigations).toBe(0);
  }, 120_000);
});

// What every browser test needs: the server binary, Debian's chromium (never a downloaded
// browser), the artifacts folder, and a way to wait for a condition without sleeping.
import {existsSync, mkdirSync} from 'node:fs';
import {createRequire} from 'node:module';
import {dirname, join} from 'node:path';
import {fileURLToPath} from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

// ctest treats this exit status as "skipped" (SKIP_RETURN_CODE), never as a pass.
const SKIP = 77;

function skipOrFail(why) {
  if (process.env.TANDEM_BROWSER_TESTS_REQUIRED === '1') {
    console.error(`browser tests: ${why}`);
    process.exit(1);
  }
  console.error(`browser tests skipped: ${why}`);
  process.exit(SKIP);
}

export const serverBinary = process.env.TANDEM_SERVER;
if (!serverBinary || !existsSync(serverBinary)) {
  console.error(`browser tests: TANDEM_SERVER must name the tandem-server binary (got ${serverBinary})`);
  process.exit(1);
}

export const chromiumPath = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
let chromium = null;

// Checks that Chromium and playwright-core are there (skips or fails the test file if not).
// Called at the top of the test files that need a browser.
export function requireBrowser() {
  if (chromium) return;
  if (!existsSync(chromiumPath)) skipOrFail(`no Chromium at ${chromiumPath} (apt-get install chromium)`);
  try {
    ({chromium} = createRequire(join(here, '..', 'package.json'))('playwright-core'));
  } catch {
    skipOrFail('playwright-core is not installed (npm ci in tests/browser)');
  }
}

export const artifactsDir = process.env.TANDEM_ARTIFACTS_DIR || join(here, '..', 'artifacts');
mkdirSync(artifactsDir, {recursive: true});

// Headless Chromium with fake camera and microphone (and no permission prompt), autoplay
// without a gesture, no sandbox (CI runs as root), and real host candidates instead of
// mDNS names so that two pages on one machine connect over loopback/LAN addresses.
export async function launch() {
  requireBrowser();
  return chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    args: [
      '--no-sandbox',
      '--use-fake-device-for-media-stream',
      '--use-fake-ui-for-media-stream',
      '--autoplay-policy=no-user-gesture-required',
      '--disable-features=WebRtcHideLocalIpsWithMdns',
      '--disable-dev-shm-usage',
      '--disable-gpu',
    ],
  });
}

// Polls `condition` (every 25 ms) until it returns a truthy value, which it returns; throws
// with `what` and the last value after `timeoutMs`. For state that has no event to await.
export async function waitUntil(what, condition, timeoutMs = 10000) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    last = await condition();
    if (last) return last;
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (last: ${JSON.stringify(last)})`);
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

// Console errors and page errors of a page, for the assertions and failure reports.
export function watchConsole(page, label, sink) {
  page.on('console', (message) => {
    if (message.type() === 'error') sink.push(`${label}: ${message.text()}`);
  });
  page.on('pageerror', (error) => sink.push(`${label}: uncaught ${error.message}`));
}

// A new page of `context` whose console errors go to `sink` (labelled), with `timeoutMs` as
// the default for its waits.
export async function newPage(context, label, sink, timeoutMs = 10000) {
  const page = await context.newPage();
  page.setDefaultTimeout(timeoutMs);
  watchConsole(page, label, sink);
  return page;
}

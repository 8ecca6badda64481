// Headless-Chromium pass over every template in every locale: starts
// `otp-sidecar templates preview` on a free loopback port, opens each page and
// each HTML mail on a 375 px wide screen, saves a PNG under
// target/screenshots/templates/, runs axe-core and fails on any serious or
// critical violation, on any Content-Security-Policy violation or script
// error, on sideways scrolling, and when the pages' small scripts
// (auto-submit, paste, resend countdown) misbehave. Then the embedded default
// (`otp-sidecar run --demo-bind`): the demo, the outbox (the mail's HTML part
// rendered in its sandboxed frame) and the result page, clicked through at
// 375 px in light and dark, under the same checks.
//
//   cargo build && (cd tests/browser && npm ci && node templates.mjs)
//
// Env: OTP_SIDECAR_BIN (default target/debug/otp-sidecar), CHROMIUM
// (default /usr/bin/chromium), TEMPLATES_DIR (an override directory to check).
import { spawn } from "node:child_process";
import { mkdirSync } from "node:fs";
import { createServer } from "node:net";
import { dirname, join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

import { AxeBuilder } from "@axe-core/playwright";
import { chromium } from "playwright-core";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const bin = process.env.OTP_SIDECAR_BIN || join(root, "target/debug/otp-sidecar");
const executablePath = process.env.CHROMIUM || "/usr/bin/chromium";
const shots = join(root, "target/screenshots/templates");
// Every step below has a bound of its own; these two bound the whole pass: it
// gives up when nothing has moved on for STALL_MS, and after TOTAL_TIMEOUT_MS
// in any case (the pass takes about 7 minutes on two cores).
const STALL_MS = 2 * 60 * 1000;
const TOTAL_TIMEOUT_MS = 30 * 60 * 1000;
// Views checked at once: axe-core is most of a view's time and runs in the
// page's renderer, one per core.
const PARALLEL = Number(process.env.TEMPLATES_PARALLEL || 2);
if (!Number.isInteger(PARALLEL) || PARALLEL < 1) {
  console.error(`TEMPLATES_PARALLEL: expected a whole number of views at once, 1 or more; got "${process.env.TEMPLATES_PARALLEL}"`);
  process.exit(2);
}
// TEMPLATES_ONLY=code-sent,mail-code limits the pass to those samples.
const only = process.env.TEMPLATES_ONLY ? process.env.TEMPLATES_ONLY.split(",") : null;
// The narrowest phone the pages must fit without sideways scrolling.
const NARROW = 375;
const debug = process.env.DEBUG ? (...a) => console.log(new Date().toISOString(), ...a) : () => {};

const failures = [];
const fail = (what) => {
  failures.push(what);
  console.error(`FAIL ${what}`);
};

const giveUp = (why) => {
  console.error(`FAIL: gave up ${why}`);
  process.exit(1);
};
const killer = setTimeout(() => giveUp(`after ${TOTAL_TIMEOUT_MS / 1000} s`), TOTAL_TIMEOUT_MS);
let stall = null;
/** A step is done: the stall bound starts again from here. */
function progress(what) {
  clearTimeout(stall);
  stall = setTimeout(() => giveUp(`${STALL_MS / 1000} s after ${what}, the last step done`), STALL_MS);
}
progress("the start");

/** Start the preview on a free port; resolve with its base URL. */
function startPreview() {
  const args = ["templates", "preview", "--bind", "127.0.0.1:0"];
  if (process.env.TEMPLATES_DIR) args.splice(2, 0, process.env.TEMPLATES_DIR);
  const child = spawn(bin, args, { stdio: ["ignore", "pipe", "inherit"] });
  return new Promise((resolveUrl, reject) => {
    const timer = setTimeout(() => reject(new Error("preview did not start within 30 s")), 30_000);
    child.on("error", reject);
    child.on("exit", (code) => reject(new Error(`preview exited with ${code}`)));
    createInterface({ input: child.stdout }).on("line", (line) => {
      const m = line.match(/^preview: (http:\/\/127\.0\.0\.1:\d+)\//);
      if (m) {
        clearTimeout(timer);
        resolveUrl({ child, base: m[1] });
      }
    });
  });
}

/** Only loopback: anything else is answered locally, never fetched. */
async function loopbackOnly(page, base, posted) {
  await page.route("**/*", async (route) => {
    const url = route.request().url();
    // Form posts (verify, resend, cancel, the redirect) are recorded, not sent.
    if (route.request().method() === "POST") {
      posted.push({ url, body: route.request().postData() || "" });
      return route.fulfill({
        status: 200,
        contentType: "text/html",
        body: "<!doctype html><html lang=en><title>posted</title><main><h1>posted</h1></main>",
      });
    }
    if (url.startsWith(base)) return route.continue();
    return route.fulfill({ status: 404, body: "" });
  });
}

/** Open a view, collect CSP violations and script errors while it loads. */
async function open(context, base, path, { stubScript = false } = {}) {
  const page = await context.newPage();
  const problems = [];
  page.on("console", (msg) => {
    if (msg.type() === "error") problems.push(`console: ${msg.text()}`);
  });
  page.on("pageerror", (err) => problems.push(`script error: ${err.message}`));
  const posted = [];
  await loopbackOnly(page, base, posted);
  if (stubScript) {
    await page.route("**/static/otp.js", (route) =>
      route.fulfill({ status: 200, contentType: "text/javascript", body: "" }),
    );
  }
  const response = await page.goto(base + path, { waitUntil: "load", timeout: 20_000 });
  return { page, problems, posted, response };
}

/** The page fits the viewport's width: nothing to scroll sideways. */
async function noSidewaysScroll(page, label) {
  const { scroll, width } = await page.evaluate(() => ({
    scroll: document.documentElement.scrollWidth,
    width: window.innerWidth,
  }));
  if (scroll > width) fail(`${label}: ${scroll} px wide on a ${width} px screen (sideways scrolling)`);
}

async function axe(page, label, { exclude } = {}) {
  const builder = new AxeBuilder({ page })
    .withTags(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]);
  // A sandboxed frame runs no script, axe's included: leave it out (the
  // mail inside is checked on its own in the template pass).
  if (exclude) builder.exclude(exclude);
  const result = await builder.analyze();
  for (const v of result.violations) {
    const where = v.nodes.map((n) => n.target.join(" ")).slice(0, 3).join(", ");
    const line = `${label}: axe ${v.impact} ${v.id}: ${v.help} [${where}]`;
    if (v.impact === "serious" || v.impact === "critical") fail(line);
    else console.warn(`warn ${line}`);
  }
  return result.violations.length;
}

async function main() {
  mkdirSync(shots, { recursive: true });
  const { child, base } = await startPreview();
  const browser = await chromium.launch({
    executablePath,
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  try {
    const index = await (await fetch(`${base}/__index.json`)).json();
    if (!index.locales) throw new Error(`templates have problems:\n${index.problems.join("\n")}`);
    const viewport = { width: NARROW, height: 900 };
    const contexts = [];
    const jobs = [];
    // Light in every locale; dark in English (the colours do not depend on the language).
    for (const scheme of ["light", "dark"]) {
      const withJs = await browser.newContext({ colorScheme: scheme, viewport });
      // How a no-script browser sees the redirect page (axe needs script, so
      // this one is only photographed).
      const noJs = await browser.newContext({ colorScheme: scheme, viewport, javaScriptEnabled: false });
      contexts.push(withJs, noJs);
      for (const locale of scheme === "light" ? index.locales : ["en"]) {
        for (const sample of index.samples) {
          if (!only || only.includes(sample.id)) jobs.push({ scheme, withJs, noJs, locale, sample });
        }
      }
    }
    let views = 0;
    const worker = async () => {
      for (let job = jobs.shift(); job; job = jobs.shift()) {
        await checkView(base, job);
        views += 1;
        progress(`${job.locale}/${job.sample.id} (${job.scheme})`);
      }
    };
    await Promise.all(Array.from({ length: PARALLEL }, worker));
    for (const context of contexts) await context.close();
    console.log(`${views} views checked; screenshots in ${shots}`);
    await behaviour(browser, base);
    progress("the page scripts' behaviour");
    await demo(browser);
    progress("the embedded default");
    await states(browser);
  } finally {
    await browser.close();
    child.kill("SIGTERM");
  }
}

/** One sample in one locale and colour scheme: photographed, axe, its own rules. */
async function checkView(base, { scheme, withJs, noJs, locale, sample }) {
  const label = `${locale}/${sample.id}${scheme === "dark" ? " (dark)" : ""}`;
  const path = `/view/${locale}/${sample.id}.html`;
  const suffix = scheme === "dark" ? "-dark" : "";
  // The redirect page would leave at once: look at it with its script stubbed.
  const redirect = sample.id === "redirect";
  if (redirect) {
    const still = await open(noJs, base, path);
    await still.page.screenshot({ path: join(shots, `${locale}-${sample.id}-noscript${suffix}.png`), fullPage: true });
    await still.page.close();
  }
  const { page, problems, response } = await open(withJs, base, path, { stubScript: redirect });
  if (!response || response.status() !== 200) fail(`${label}: HTTP ${response && response.status()}`);
  for (const p of problems) fail(`${label}: ${p}`);
  const lang = await page.getAttribute("html", "lang");
  if (lang !== locale) fail(`${label}: <html lang="${lang}">, expected "${locale}"`);
  debug(label, "loaded");
  const file = join(shots, `${locale}-${sample.id}${suffix}.png`);
  await page.screenshot({ path: file, fullPage: true });
  debug(label, "shot");
  await noSidewaysScroll(page, label);
  await axe(page, label);
  debug(label, "axe done");
  if (sample.id === "code-expired") {
    // The expired state: no live code field, a new code offered.
    if (await page.$("#code")) fail(`${label}: a code field on the expired page`);
    if (!(await page.$("button[data-resend-at]"))) fail(`${label}: no "send a new code" on the expired page`);
  }
  if (sample.id.startsWith("finished-") && (await page.$("form, #code"))) {
    fail(`${label}: a form on the finished page`);
  }
  await page.close();
}

/** What the small page script must do, seen from the browser. */
async function behaviour(browser, base) {
  const context = await browser.newContext();
  // Redirect: posts its fields to the action by itself.
  {
    const { page, posted, problems } = await open(context, base, "/view/en/redirect.html");
    await page.waitForURL((u) => !u.href.startsWith(base), { timeout: 10_000 }).catch(() => {});
    for (const p of problems) fail(`redirect auto-submit: ${p}`);
    if (posted.length !== 1 || !posted[0].body.startsWith("assertion=")) {
      fail(`redirect auto-submit: expected one POST with the assertion, got ${JSON.stringify(posted)}`);
    }
    await page.close();
  }
  // Code page: a pasted code with spaces is cleaned and submitted.
  {
    const { page, posted } = await open(context, base, "/view/en/code-sent.html");
    await page.focus("#code");
    await page.evaluate(() => {
      const data = new DataTransfer();
      data.setData("text", " 482 913 ");
      document.getElementById("code").dispatchEvent(
        new ClipboardEvent("paste", { clipboardData: data, bubbles: true, cancelable: true }),
      );
    });
    await page.waitForURL((u) => !u.href.includes("/view/"), { timeout: 10_000 }).catch(() => {});
    const body = posted[0] && posted[0].body;
    if (!body || !body.includes("code=482913")) fail(`paste: expected code=482913 posted, got ${body}`);
    await page.close();
  }
  // Code page: the resend button waits out the cooldown, then works. The page's
  // clock is ours and stands still, so the label is exact however slow this runs.
  {
    const clockContext = await browser.newContext();
    await clockContext.clock.install();
    await clockContext.clock.pauseAt(Date.now() + 1000);
    const { page } = await open(clockContext, base, "/view/en/code-cooldown.html");
    const button = page.locator("button[data-resend-at]");
    const wait = Number(await button.getAttribute("data-resend-at")) - Number(await button.getAttribute("data-now"));
    const label = () => page.locator(".countdown").textContent();
    const shown = (left) => `(${Math.floor(left / 60)}:${String(left % 60).padStart(2, "0")})`;
    if (!(wait > 10)) fail(`countdown: the sample's cooldown is ${wait} s`);
    if (!(await button.isDisabled())) fail("countdown: resend button enabled during the cooldown");
    if ((await label()) !== shown(wait)) fail(`countdown: label "${await label()}", expected "${shown(wait)}"`);
    await clockContext.clock.runFor(10_000);
    if ((await label()) !== shown(wait - 10)) fail(`countdown: 10 s later "${await label()}", expected "${shown(wait - 10)}"`);
    if (!(await button.isDisabled())) fail("countdown: resend button enabled before the cooldown ended");
    await clockContext.clock.runFor((wait - 10) * 1000);
    if (await button.isDisabled()) fail("countdown: resend button still disabled after the cooldown");
    if ((await label()) !== "") fail(`countdown: label "${await label()}" after the cooldown`);
    await page.close();
    await clockContext.close();
  }
  // Code page with no resend left: no resend button at all.
  {
    const { page } = await open(context, base, "/view/en/code-no-resend.html");
    if ((await page.locator("button[data-resend-at]").count()) !== 0) fail("no-resend: button shown");
    await page.close();
  }
  await context.close();
}

/** A free loopback port (the embedded default needs its port up front). */
function freePort() {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolvePort(port));
    });
  });
}

/** Start the embedded default; resolve with its base URL once it listens. */
async function startDemo() {
  const port = await freePort();
  const child = spawn(bin, ["run", "--demo-bind", `127.0.0.1:${port}`], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  return new Promise((resolveUrl, reject) => {
    const timer = setTimeout(() => reject(new Error("embedded default did not start within 30 s")), 30_000);
    child.on("error", reject);
    child.on("exit", (code) => reject(new Error(`embedded default exited with ${code}`)));
    createInterface({ input: child.stderr }).on("line", (line) => {
      if (line.includes("outbox:")) {
        clearTimeout(timer);
        resolveUrl({ child, base: `http://127.0.0.1:${port}` });
      }
    });
  });
}

/** The demo, the outbox and the result page: styled, narrow, accessible. */
async function demo(browser) {
  const { child, base } = await startDemo();
  try {
    for (const scheme of ["light", "dark"]) {
      const suffix = scheme === "dark" ? "-dark" : "";
      const context = await browser.newContext({ colorScheme: scheme, viewport: { width: NARROW, height: 900 } });
      const page = await context.newPage();
      const problems = [];
      page.on("console", (msg) => {
        if (msg.type() === "error") problems.push(`console: ${msg.text()}`);
      });
      page.on("pageerror", (err) => problems.push(`script error: ${err.message}`));
      const look = async (name) => {
        const label = `demo ${name}${suffix ? " (dark)" : ""}`;
        await page.screenshot({ path: join(shots, `demo-${name}${suffix}.png`), fullPage: true });
        await noSidewaysScroll(page, label);
        await axe(page, label);
        const css = await page.evaluate(() => getComputedStyle(document.querySelector("main")).borderTopWidth);
        if (css !== "4px") fail(`${label}: the card is not styled (border-top ${css})`);
      };
      await page.goto(`${base}/demo`, { waitUntil: "load" });
      await look("start");
      await page.fill("#email", `look-${scheme}@example.com`);
      await Promise.all([page.waitForURL(/\/challenge$/, { timeout: 20_000 }), page.click("button[type=submit]")]);
      await page.waitForSelector("#code");
      await look("code");

      const outbox = await context.newPage();
      outbox.on("console", (msg) => {
        if (msg.type() === "error") problems.push(`outbox console: ${msg.text()}`);
      });
      await outbox.goto(`${base}/dev/outbox`, { waitUntil: "load" });
      const mail = outbox.locator("article.mail").first();
      const text = await mail.locator("pre.mail-text").textContent();
      const code = (text.match(/^\s+(\d{6})\s*$/m) || [])[1];
      if (!code) fail(`outbox${suffix}: no code in the text part: ${text}`);
      // The HTML part is rendered (its own styles applied) inside the sandboxed frame.
      const frame = mail.locator("iframe.mail-frame");
      if ((await frame.getAttribute("sandbox")) !== "") fail(`outbox${suffix}: the frame is not sandboxed`);
      const inFrame = outbox.frameLocator("article.mail >> nth=0 >> iframe.mail-frame");
      const shown = (await inFrame.locator("p.code").textContent({ timeout: 10_000 })).trim();
      if (shown !== code) fail(`outbox${suffix}: the frame shows "${shown}", the text part "${code}"`);
      const codeSize = await inFrame.locator("p.code").evaluate((el) => getComputedStyle(el).fontSize);
      if (codeSize !== "36px" && codeSize !== "30px") fail(`outbox${suffix}: the mail's styles are not applied (code ${codeSize})`);
      {
        const label = `demo outbox${suffix ? " (dark)" : ""}`;
        await outbox.screenshot({ path: join(shots, `demo-outbox${suffix}.png`), fullPage: true });
        await noSidewaysScroll(outbox, label);
        await axe(outbox, label, { exclude: "iframe.mail-frame" });
        const title = await frame.getAttribute("title");
        if (!title) fail(`${label}: the mail frame has no title`);
      }
      await outbox.close();

      await page.fill("#code", code || "000000");
      await Promise.all([page.waitForURL(/login-actions/, { timeout: 20_000 }), page.click(".code-form button[type=submit]")]);
      await page.waitForSelector("h1");
      const heading = await page.textContent("h1");
      if (!heading.includes("success")) fail(`demo result${suffix}: "${heading}"`);
      await look("result");
      for (const p of problems) fail(`demo${suffix}: ${p}`);
      await context.close();
    }
    console.log("demo, outbox and result page checked at 375 px, light and dark");
  } finally {
    child.kill("SIGTERM");
  }
}

/**
 * The states a user meets, in a German browser against the running service:
 * the code page in German with the time left in words and kept true as time
 * passes, Back after the step (the finished page, no form, a link back to
 * the application), and an HTML error page for a mistyped address.
 */
async function states(browser) {
  const { child, base } = await startDemo();
  try {
    const context = await browser.newContext({ locale: "de-DE", viewport: { width: NARROW, height: 900 } });
    const page = await context.newPage();
    const problems = [];
    page.on("pageerror", (err) => problems.push(`script error: ${err.message}`));
    // A clock of our own, so "time passes" without waiting for it.
    await page.clock.install();
    await page.goto(`${base}/demo`, { waitUntil: "load" });
    await page.fill("#email", "states@example.com");
    await Promise.all([page.waitForURL(/\/challenge$/, { timeout: 20_000 }), page.click("button[type=submit]")]);
    await page.waitForSelector("#code");
    // From here the clock stands still and moves only when told: the page shown again
    // (a GET never sends mail) counts from a known instant, however slow this runs.
    await page.clock.pauseAt(Date.now() + 1000);
    await page.reload({ waitUntil: "load" });
    await page.waitForSelector("#code");
    const lang = await page.getAttribute("html", "lang");
    if (lang !== "de") fail(`states: the code page is in "${lang}", the browser asked for German`);
    const heading = await page.textContent("h1");
    if (!heading.includes("Prüfen Sie Ihre E-Mails")) fail(`states: heading "${heading}"`);
    const expiry = async () => (await page.textContent("#expiry")).trim();
    const first = await expiry();
    if (first !== "Der Code läuft in 5 Minuten ab.") fail(`states: expiry at first "${first}"`);
    await page.clock.fastForward("02:01");
    const later = await expiry();
    if (later !== "Der Code läuft in 3 Minuten ab.") fail(`states: expiry after 2 minutes "${later}"`);
    await page.clock.fastForward("02:30");
    const last = await expiry();
    if (last !== "Der Code läuft in weniger als einer Minute ab.") fail(`states: expiry in the last minute "${last}"`);
    // The resend sentence for browsers without script is hidden: the button counts.
    if (await page.isVisible("[data-resend-wait]")) fail("states: the resend sentence shows beside the countdown");
    // Time runs again for the rest (the redirect page submits itself from a timer).
    await page.clock.resume();

    const outbox = await context.newPage();
    await outbox.goto(`${base}/dev/outbox`, { waitUntil: "load" });
    const text = await outbox.locator("article.mail").first().locator("pre.mail-text").textContent();
    const code = (text.match(/^\s+(\d{6})\s*$/m) || [])[1];
    if (!text.includes("Mit diesem Code melden Sie sich")) fail(`states: the mail is not in German: ${text}`);
    await outbox.close();

    await page.fill("#code", code || "000000");
    await Promise.all([page.waitForURL(/login-actions/, { timeout: 20_000 }), page.click(".code-form button[type=submit]")]);
    await page.waitForSelector("h1");
    // Back: the finished page, not a form to resubmit and not a live code field.
    const back = await page.goBack({ waitUntil: "load" });
    if (!back || back.status() !== 200) fail(`states: Back answered ${back && back.status()}`);
    if (!/\/challenge\/done$/.test(page.url())) fail(`states: Back landed on ${page.url()}`);
    const done = await page.textContent("h1");
    if (!done.includes("Ihr Code wurde angenommen")) fail(`states: Back shows "${done}"`);
    if (await page.$("form, #code")) fail("states: the finished page has a form");
    const link = await page.getAttribute("a.button", "href");
    if (link !== `${base}/demo`) fail(`states: the finished page links to ${link}`);
    await page.screenshot({ path: join(shots, "states-de-finished.png"), fullPage: true });
    await noSidewaysScroll(page, "states finished");
    await axe(page, "states finished");

    // A mistyped address: a page in German, not JSON.
    const missing = await page.goto(`${base}/challenge/nope`, { waitUntil: "load" });
    if (missing.status() !== 404) fail(`states: a mistyped address answered ${missing.status()}`);
    if (!(missing.headers()["content-type"] || "").startsWith("text/html")) fail("states: the 404 is not a page");
    if (!(await page.textContent("h1")).includes("Seite nicht gefunden")) fail("states: the 404 page is not in German");
    await axe(page, "states 404");
    for (const p of problems) fail(`states: ${p}`);
    await context.close();
    console.log("states checked in a German browser: live expiry, Back after the step, HTML errors");
  } finally {
    child.kill("SIGTERM");
  }
}

main()
  .catch((e) => fail(`run: ${e.stack || e}`))
  .finally(() => {
    clearTimeout(killer);
    clearTimeout(stall);
    if (failures.length) {
      console.error(`${failures.length} failure(s)`);
      process.exit(1);
    }
    console.log("templates: browser pass ok");
  });

// Drives the Teams simulator's web UI in Debian's chromium (playwright-core) and photographs the
// main cards; started by scripts/screenshots, which starts the bot and the simulator first.
//   node scripts/screenshots.mjs SIMULATOR_URL OUT_DIR
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const [url, out] = process.argv.slice(2);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const hostConfig = (theme) => JSON.parse(readFileSync(path.join(root, 'tests/data/schemas/adaptive-cards', `hostconfig-microsoft-teams-${theme}.json`), 'utf8'));

function as(...args) {
  const said = execFileSync(path.join(root, 'scripts/as'), args, { cwd: root, encoding: 'utf8' });
  process.stdout.write(said);
}

function wednesday() {
  const d = new Date();
  d.setDate(d.getDate() + (((3 - d.getDay()) + 7) % 7 || 7));
  return d.toISOString().slice(0, 10);
}

// The latest version of the card (as the simulator received it) whose text contains `marker`.
function cardJson(marker) {
  const latest = new Map();
  for (const line of readFileSync(process.env.PLAYGROUND_FRAMES, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    const frame = JSON.parse(line);
    const m = frame.message || {};
    for (const a of m.attachments || []) {
      if (a.contentType === 'application/vnd.microsoft.card.adaptive') latest.set(m.messageId, a.content);
    }
  }
  const found = [...latest.values()].reverse().find((c) => JSON.stringify(c).includes(marker));
  if (!found) throw new Error(`no card with ${marker}`);
  return found;
}

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const page = await browser.newPage({ viewport: { width: 1400, height: 1400 } });
await page.goto(url, { waitUntil: 'domcontentloaded' });
await page.getByRole('treeitem', { name: /Personal Chat/ }).waitFor();

const shots = [];
async function shoot(chat, marker, name) {
  await page.getByRole('treeitem', { name: chat }).first().click();
  const card = page.locator('.ac-adaptiveCard').filter({ hasText: marker }).last();
  await card.waitFor({ timeout: 20000 });
  await card.scrollIntoViewIfNeeded();
  await card.screenshot({ path: path.join(out, `${name}-light.png`) });
  shots.push({ name, card: cardJson(marker) });
  console.log(`${name}-light.png`);
}

as('ivy', '/setup safeguarding', '--in', 'Safeguarding');
as('ivy', '/setup slt');
await page.getByRole('treeitem', { name: /Personal Chat/ }).click();
const box = page.locator('div[role=textbox][contenteditable=true]');
await box.click();
await box.fill('/book');
await box.press('Enter');
await shoot(/Personal Chat/, 'Book a session', 'book-form');

as('tara', '--press', 'Check and book', '--set', 'title=Reading group', '--set', `date=${wednesday()}`, '--set', 'time=10:00', '--set', 'duration=45', '--set', 'pupils=Pip Example,Quinn Example');
await shoot(/Personal Chat/, 'What your protocol needs', 'status-waiting');
as('sam', '--press', 'Accept');
await shoot(/General/, 'Covered by Sam Senior', 'request-covered');
as('tara', '--press', 'Cancel session');
await shoot(/Personal Chat/, 'If you cancel', 'cancel-confirm');
as('tara', '--press', 'No, keep');
as('tara', '/concern', '--in', 'personal');
await page.getByRole('treeitem', { name: /Personal Chat/ }).click();
await page.locator('.ac-adaptiveCard').filter({ hasText: 'Raise a safeguarding concern' }).last().waitFor();
as('tara', '--press', 'Send to the DSL', '--set', 'pupil=Pip Example', '--set', 'category=Disclosure', '--set', 'what=Pip said something worrying.');
as('dee', '--press', 'Acknowledge');
await shoot(/Safeguarding/, 'Acknowledged by', 'concern-alert');

// Dark: the same cards, drawn by Microsoft's renderer with Teams' dark host config.
const dark = await browser.newPage({ viewport: { width: 520, height: 1200 } });
await dark.setContent('<html><body style="margin:0"><div id="card" style="width:480px;padding:16px"></div></body></html>');
await dark.addScriptTag({ path: path.join(root, 'node_modules/adaptivecards/dist/adaptivecards.min.js') });
for (const { name, card } of shots) {
  await dark.evaluate(({ card, config }) => {
    const host = document.getElementById('card');
    host.innerHTML = '';
    host.style.background = '#' + config.containerStyles.default.backgroundColor.replace('#', '').slice(-6);
    document.body.style.background = host.style.background;
    document.body.style.fontFamily = config.fontFamily || 'Segoe UI, sans-serif';
    const ac = new AdaptiveCards.AdaptiveCard();
    ac.hostConfig = new AdaptiveCards.HostConfig(config);
    ac.parse(card);
    host.appendChild(ac.render());
  }, { card, config: hostConfig('dark') });
  await dark.locator('#card').screenshot({ path: path.join(out, `${name}-dark.png`) });
  console.log(`${name}-dark.png`);
}
await browser.close();

// Shared by the browser journeys: Debian's Chromium driven by playwright-core, axe-core run on
// every page a journey visits, exact assertions. A journey script never stops at the first
// accessibility finding: it records each one and exits 1 at the end, so one run shows them all.
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
// `npm ci` runs in the build tree (tests/browser/CMakeLists.txt); a checkout with its own
// node_modules beside this file works too.
const nodeDir = process.env.TRAMIT_BROWSER_NODE_DIR || here;
const require = createRequire(path.join(nodeDir, 'package.json'));
let chromium, axeSource;
try {
	({ chromium } = require('playwright-core'));
	axeSource = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
} catch (e) {
	console.error(`browser: playwright-core and axe-core are not installed in ${nodeDir} ` +
	              `(ctest -R browser_deps installs them; or set TRAMIT_BROWSER_NODE_DIR): ${e.message}`);
	process.exit(2);
}

const CHROMIUM = process.env.TRAMIT_CHROMIUM || '/usr/bin/chromium';
const SHOTS = process.env.TRAMIT_BROWSER_SCREENSHOTS || '';
let axeMs = 0; // time spent in axe, for the summary line

export class Failure extends Error {}

export function eq(actual, expected, what) {
	if (actual !== expected)
		throw new Failure(`${what}: expected ${JSON.stringify(expected)}, found ${JSON.stringify(actual)}`);
}

export function matches(actual, re, what) {
	if (typeof actual !== 'string' || !re.test(actual))
		throw new Failure(`${what}: expected ${re}, found ${JSON.stringify(actual)}`);
}

export function ok(cond, what) {
	if (!cond)
		throw new Failure(what);
}

// The year the server stamps on registry numbers: it counts in Europe/Madrid.
export function registryYear() {
	return new Intl.DateTimeFormat('en', { timeZone: 'Europe/Madrid', year: 'numeric' }).format(new Date());
}

// Text of the one element matching selector, white space collapsed; fails if there is none.
export async function text(page, selector) {
	const loc = page.locator(selector);
	const n = await loc.count();
	if (n !== 1)
		throw new Failure(`${page.url()}: expected one element ${selector}, found ${n}`);
	return (await loc.textContent()).replace(/\s+/g, ' ').trim();
}

export async function attr(page, selector, name) {
	const loc = page.locator(selector);
	const n = await loc.count();
	if (n !== 1)
		throw new Failure(`${page.url()}: expected one element ${selector}, found ${n}`);
	return loc.getAttribute(name);
}

// Runs act (a click, a key press) and waits for the page it leads to, after any redirects;
// returns that page's HTTP status.
export async function follow(page, act) {
	const [res] = await Promise.all([page.waitForNavigation(), act()]);
	return res.status();
}

export function pathOf(page) {
	const u = new URL(page.url());
	return u.pathname + u.search;
}

// Runs one script: `node <script>.mjs http://127.0.0.1:PORT`. body(j) gets the journey
// helpers; the process exits 0 only when every journey passed with no accessibility finding.
export async function main(journeys) {
	const base = process.argv[2];
	if (!base || !/^http:\/\/127\.0\.0\.1:\d+$/.test(base)) {
		console.error(`usage: node ${path.basename(process.argv[1])} http://127.0.0.1:PORT`);
		process.exit(2);
	}
	const started = Date.now();
	// Each step has a 10 s timeout; this bounds the whole script should something else hang.
	setTimeout(() => { console.log('browser: gave up after 150 s'); process.exit(1); }, 150000).unref();
	const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
	const findings = [], notes = new Map();
	let pages = 0, failed = 0;
	try {
		await axeCanFail(browser, base);
		// The journeys of a script are independent (each person has their own browser context
		// and each journey finds its own expedient by id), so they run side by side: most of a
		// step is waiting for the browser.
		const results = await Promise.all(journeys.map(async ([name, body]) => {
			const j = new Journey(browser, base, name, findings, notes);
			try {
				await body(j);
				return `journey ok: ${name} (${j.pages} pages checked by axe)`;
			} catch (e) {
				failed++;
				return `journey FAILED: ${name}: ${e instanceof Failure ? e.message : e.stack}` +
				       (j.page ? `\n  at ${j.page.url()}` : '');
			} finally {
				pages += j.pages;
				await j.close();
			}
		}));
		for (const r of results)
			console.log(r);
	} finally {
		await browser.close();
	}
	for (const [id, n] of notes)
		console.log(`axe (not failing): ${id} on ${n.size} page(s): ${[...n].join(', ')}`);
	for (const f of findings)
		console.log(f);
	console.log(`browser: ${journeys.length - failed} of ${journeys.length} journeys ok, ${pages} pages checked ` +
	            `by axe (${(axeMs / 1000).toFixed(1)} s), ${findings.length} accessibility findings, ` +
	            `${((Date.now() - started) / 1000).toFixed(1)} s`);
	process.exit(failed || findings.length ? 1 : 0);
}

async function runAxe(page) {
	await page.evaluate(axeSource + '\n;0');
	return page.evaluate(() => axe.run(document, { resultTypes: ['violations'] }));
}

// The checker must be able to fail: a page with an image without a text alternative (a
// critical violation) must be reported before any journey's "no findings" means anything.
async function axeCanFail(browser, base) {
	const ctx = await browser.newContext();
	try {
		const page = await ctx.newPage();
		await page.route(base + '/axe-probe', r => r.fulfill({ contentType: 'text/html',
			body: '<!DOCTYPE html><html lang="ca"><title>Prova</title><main><h1>Prova</h1><img src="/x.png"></main>' }));
		await page.goto(base + '/axe-probe');
		const ids = (await runAxe(page)).violations.map(v => `${v.id}:${v.impact}`);
		if (!ids.includes('image-alt:critical'))
			throw new Failure(`axe-core did not report a missing alt text (found ${ids.join(' ') || 'nothing'})`);
	} finally {
		await ctx.close();
	}
}

class Journey {
	constructor(browser, base, name, findings, notes) {
		this.browser = browser;
		this.base = base;
		this.name = name;
		this.findings = findings;
		this.notes = notes;
		this.contexts = [];
		this.noScript = new WeakSet();
		this.pages = 0;
		this.page = null;
		this.probe = null;
	}

	// A browser context: a person with their own cookies. acceptLanguage sets the header the
	// server negotiates on; javaScript: false gives a browser with scripts off.
	async context({ acceptLanguage = 'ca', javaScript = true, viewport = { width: 1280, height: 900 } } = {}) {
		const ctx = await this.browser.newContext({
			javaScriptEnabled: javaScript, viewport,
			extraHTTPHeaders: { 'Accept-Language': acceptLanguage },
		});
		ctx.setDefaultTimeout(10000);
		this.contexts.push(ctx);
		const page = await ctx.newPage();
		if (!javaScript)
			this.noScript.add(page);
		this.page = page;
		return page;
	}

	async goto(page, p) {
		const res = await page.goto(this.base + p);
		return res.status();
	}

	// Checks the page as it is now with axe-core; serious and critical violations are recorded
	// with the rule, the element and the page, and so is a page wider than the screen. A
	// screenshot is saved when asked for.
	async check(page, label) {
		this.pages++;
		let target = page;
		if (this.noScript.has(page)) {
			// axe needs timers, which do not run in a page with scripts disabled: check the same
			// markup (served again from memory, with the server's stylesheet) in a page that has them.
			const html = await page.content(), url = page.url();
			if (!this.probe) {
				const ctx = await this.browser.newContext({ viewport: page.viewportSize() });
				this.contexts.push(ctx);
				this.probe = await ctx.newPage();
			}
			target = this.probe;
			await target.unrouteAll();
			await target.route(url, r => r.fulfill({ status: 200, contentType: 'text/html; charset=utf-8', body: html }));
			await target.goto(url);
		}
		// On a phone-sized screen the page must fit its width (WCAG 1.4.10, reflow).
		const wide = await page.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
		if (wide[0] > wide[1])
			this.findings.push(`reflow: ${this.name} / ${label} ${pathOf(page)} is ${wide[0]} px wide ` +
			                   `on a ${wide[1]} px screen`);
		const t0 = Date.now();
		const result = await runAxe(target);
		axeMs += Date.now() - t0;
		for (const v of result.violations) {
			if (v.impact !== 'serious' && v.impact !== 'critical') {
				const key = `${v.impact} ${v.id}`;
				if (!this.notes.has(key))
					this.notes.set(key, new Set());
				this.notes.get(key).add(pathOf(page).replace(/[0-9a-f-]{36}/, '{id}'));
				continue;
			}
			for (const n of v.nodes)
				this.findings.push(`axe ${v.impact} ${v.id} (${v.help}) on ${this.name} / ${label} ` +
				                   `${pathOf(page)}: ${n.target.join(' ')} ${n.html.slice(0, 160)}`);
		}
		if (SHOTS) {
			const dir = path.join(SHOTS, this.name.replace(/[^A-Za-z0-9_-]+/g, '-'));
			fs.mkdirSync(dir, { recursive: true });
			const file = `${String(this.pages).padStart(2, '0')}-${label.replace(/[^A-Za-z0-9_-]+/g, '-')}.png`;
			await page.screenshot({ path: path.join(dir, file), fullPage: true });
		}
	}

	async close() {
		for (const c of this.contexts)
			await c.close().catch(() => {});
	}
}

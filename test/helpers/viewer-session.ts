/**
 * One end-to-end stack, one headless Chromium and one 1280 x 800 page for a describe block: started
 * before its tests and stopped after them (browser first, then the stack).
 */
import { after, before } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { launchChromium, openPage } from './browser.js';
import { type Stack, type StackOptions, startStack } from './stack.js';

export interface ViewerSession {
  stack: Stack;
  browser: Browser;
  page: Page;
}

/** Call inside describe(); read the fields inside tests (they are set by the before hook). */
export function viewerSession(o: StackOptions = {}): ViewerSession {
  const s = {} as ViewerSession;
  before(async () => {
    s.stack = await startStack(o);
    s.browser = await launchChromium();
    s.page = await openPage(s.browser, { width: 1280, height: 800 });
  });
  after(async () => {
    await s.browser?.close().catch(() => undefined);
    await s.stack?.stop();
  });
  return s;
}

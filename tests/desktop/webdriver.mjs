// A minimal W3C WebDriver client over fetch (Node >= 20), enough to drive the Tauri window
// through tauri-driver: sessions, elements, clicks, typing, scripts and screenshots.

const ELEMENT = "element-6066-11e4-a52e-4f735466cecf";

export class WebDriverError extends Error {
  constructor(method, path, status, value) {
    super(`${method} ${path} -> ${status}: ${value?.error ?? ""} ${value?.message ?? JSON.stringify(value)}`);
    this.value = value;
  }
}

export class WebDriver {
  constructor(url) {
    this.url = url.replace(/\/$/, "");
    this.session = null;
  }

  async request(method, path, body) {
    const res = await fetch(this.url + path, {
      method,
      headers: body === undefined ? {} : { "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    let json;
    try {
      json = JSON.parse(text);
    } catch {
      json = { value: { error: "not json", message: text.slice(0, 300) } };
    }
    if (!res.ok) throw new WebDriverError(method, path, res.status, json.value);
    return json.value;
  }

  /** Waits until the driver answers /status. */
  async waitReady(timeoutMs = 20000) {
    const end = Date.now() + timeoutMs;
    for (;;) {
      try {
        await this.request("GET", "/status");
        return;
      } catch (e) {
        if (Date.now() > end) throw new Error(`WebDriver at ${this.url} not ready: ${e.message}`);
        await sleep(200);
      }
    }
  }

  /** Starts the app (tauri-driver turns tauri:options into WebKitWebDriver's options). */
  async start(application, args = []) {
    const value = await this.request("POST", "/session", {
      capabilities: { alwaysMatch: { "tauri:options": { application, args } } },
    });
    this.session = value.sessionId;
    return value;
  }

  async quit() {
    if (this.session) await this.request("DELETE", `/session/${this.session}`).catch(() => undefined);
    this.session = null;
  }

  s(path) {
    return `/session/${this.session}${path}`;
  }

  async find(selector, using = "css selector") {
    const value = await this.request("POST", this.s("/element"), { using, value: selector });
    return value[ELEMENT];
  }

  async findAll(selector, using = "css selector") {
    const value = await this.request("POST", this.s("/elements"), { using, value: selector });
    return value.map((v) => v[ELEMENT]);
  }

  /** Polls until one of `selectors` ([using, value] pairs) matches; returns [element, index]. */
  async waitFor(selectors, timeoutMs = 30000) {
    const end = Date.now() + timeoutMs;
    let last;
    for (;;) {
      for (const [i, [using, value]] of selectors.entries()) {
        try {
          const found = await this.findAll(value, using);
          if (found.length > 0) return [found[0], i];
        } catch (e) {
          last = e;
        }
      }
      if (Date.now() > end) {
        throw new Error(`timed out waiting for ${JSON.stringify(selectors)}${last ? `: ${last.message}` : ""}`);
      }
      await sleep(100);
    }
  }

  async click(element) {
    await this.request("POST", this.s(`/element/${element}/click`), {});
  }

  async type(element, text) {
    await this.request("POST", this.s(`/element/${element}/value`), { text });
  }

  async text(element) {
    return this.request("GET", this.s(`/element/${element}/text`));
  }

  async execute(script, args = []) {
    return this.request("POST", this.s("/execute/sync"), { script, args });
  }

  async executeAsync(script, args = []) {
    return this.request("POST", this.s("/execute/async"), { script, args });
  }

  async title() {
    return this.request("GET", this.s("/title"));
  }

  /** A PNG of the window, as a Buffer. */
  async screenshot() {
    return Buffer.from(await this.request("GET", this.s("/screenshot")), "base64");
  }
}

export function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The local backend's sidebar entry: the agreed test id, else the first backend button. */
export const LOCAL_BACKEND = [
  ["css selector", '[data-testid="backend-local"]'],
  ["css selector", 'aside[aria-label="Backends"] .backend-button'],
];

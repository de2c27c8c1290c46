// The viewer's sessions and API tokens (R-SIGNIN): listed without the token itself, revoked one by
// one, and new API tokens shown once.

import { ApiError } from "./api.js";
import { h, replace, timeTag } from "./dom.js";

const TOKENS = "{ viewerTokens { id kind name createdAt lastUsedAt expiresAt current } }";
const REVOKE = "mutation($id: ID!) { revokeToken(id: $id) }";
const CREATE = "mutation($n: String!) { createApiToken(name: $n) { token } }";

const $ = (selector) => document.querySelector(selector);

export class TokensDialog {
  // `signedOut(message)`: the viewer revoked the token of this page.
  constructor({ api, toast, signedOut }) {
    this.api = api;
    this.toast = toast;
    this.signedOut = signedOut;
    $("#tokens-open").addEventListener("click", () => this.open());
    $("#tokens-close").addEventListener("click", () => $("#tokens").close());
    $("#token-create").addEventListener("submit", (event) => this.create(event));
  }

  async open() {
    $("#token-created").hidden = true;
    $("#token-secret").value = "";
    $("#tokens").showModal();
    await this.load();
  }

  async load() {
    try {
      const data = await this.api.request(TOKENS);
      replace($("#token-list"), data.viewerTokens.map((token) => this.row(token)));
    } catch (error) {
      this.toast(error.message, true);
    }
  }

  row(token) {
    const what = token.kind === "SESSION" ? `Session: ${token.name}` : token.name;
    const details = [
      token.kind === "SESSION" ? "Session" : "API token",
      " · made ",
      timeTag(token.createdAt, { full: true }),
      token.lastUsedAt ? [" · last used ", timeTag(token.lastUsedAt, { full: true })] : " · never used",
      token.expiresAt ? [" · ends ", timeTag(token.expiresAt, { full: true })] : "",
    ];
    return h(
      "li",
      { dataset: { id: token.id } },
      h("div", { class: "what" }, h("span", { class: "name" }, what, token.current ? " (this browser)" : ""), h("span", { class: "hint" }, details)),
      h("button", { type: "button", class: "danger", "aria-label": `Revoke ${what}`, onclick: () => this.revoke(token) }, "Revoke"),
    );
  }

  async revoke(token) {
    try {
      await this.api.request(REVOKE, { id: token.id });
    } catch (error) {
      if (!(error instanceof ApiError && error.code === "NOT_FOUND")) return this.toast(error.message, true);
    }
    if (token.current) return this.signedOut("You revoked the token of this browser. Sign in again.");
    this.toast("Revoked.");
    await this.load();
  }

  async create(event) {
    event.preventDefault();
    const name = $("#token-name").value.trim();
    if (!name) return;
    try {
      const data = await this.api.request(CREATE, { n: name });
      $("#token-name").value = "";
      $("#token-secret").value = data.createApiToken.token;
      $("#token-created").hidden = false;
      $("#token-secret").select();
      await this.load();
    } catch (error) {
      this.toast(error.message, true);
    }
  }
}

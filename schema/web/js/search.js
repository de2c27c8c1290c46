// The search box (R-SEARCH): typing or Enter searches, the hits replace the section's list until the
// box is cleared. Hits are not live: a search shows the moment it ran, as a search engine does.

import { h, initials, replace, timeTag } from "./dom.js";
import { providerLabel } from "./thread.js";

const PAGE_SIZE = 20;
const DEBOUNCE_MS = 300;
const SEARCH = `query Search($query: String!, $after: String) {
  searchConversations(query: $query, first: ${PAGE_SIZE}, after: $after) {
    pageInfo { hasNextPage endCursor }
    edges { node {
      highlight
      conversation { id lastMessageAt contact { name externalId } app { provider } }
      message { id createdAt }
    } }
  }
}`;

// The server's highlight is its text HTML-escaped with the matches in <mark>. It is parsed in an
// inert <template> (nothing loads or runs there) and only its text and <mark>s are copied out, so
// even a highlight that were not escaped could add no other element or attribute.
export function markedText(highlight) {
  const template = document.createElement("template");
  template.innerHTML = highlight;
  return Array.from(template.content.childNodes, (node) =>
    node.nodeName === "MARK" ? h("mark", {}, node.textContent) : node.textContent
  );
}

export class SearchBox {
  // `open(id)` opens a conversation; `shown(searching)` swaps the section's list and the hits.
  constructor({ api, form, results, open, shown, failed }) {
    this.api = api;
    this.form = form;
    this.input = form.querySelector("input[type=search]");
    this.error = form.querySelector(".error");
    this.list = results.querySelector("ul");
    this.empty = results.querySelector(".empty");
    this.more = results.querySelector(".more");
    this.open = open;
    this.shown = shown;
    this.failed = failed;
    this.query = "";
    this.after = null;
    this.request = 0;
    this.timer = null;
    form.hidden = false;
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.run();
    });
    this.input.addEventListener("input", () => {
      clearTimeout(this.timer);
      if (!this.input.value.trim()) this.clear();
      else this.timer = setTimeout(() => this.run(), DEBOUNCE_MS);
    });
    this.more.addEventListener("click", () => this.load(this.query, this.after));
  }

  get searching() {
    return this.query !== "";
  }

  // Back to the section's list; the box is emptied too when `empty` (a section was chosen).
  clear({ empty = false } = {}) {
    clearTimeout(this.timer);
    if (empty) this.input.value = "";
    this.request++;
    this.query = "";
    replace(this.error);
    replace(this.list);
    this.shown(false);
  }

  run() {
    clearTimeout(this.timer);
    const query = this.input.value.trim();
    if (!query) return this.clear();
    return this.load(query, null);
  }

  async load(query, after) {
    const request = ++this.request;
    let data;
    try {
      data = await this.api.request(SEARCH, { query, after });
    } catch (error) {
      if (request !== this.request) return;
      if (error.code === "VALIDATION_FAILED") replace(this.error, error.message);
      else this.failed(error);
      return;
    }
    if (request !== this.request) return;
    const page = data.searchConversations;
    replace(this.error);
    if (!after) replace(this.list);
    this.query = query;
    this.after = page.pageInfo.endCursor;
    this.list.append(...page.edges.map((edge) => this.hit(edge.node)));
    this.empty.hidden = this.list.children.length > 0;
    this.more.hidden = !page.pageInfo.hasNextPage;
    this.shown(true);
  }

  hit({ conversation, message, highlight }) {
    const name = conversation.contact.name || conversation.contact.externalId;
    return h(
      "li",
      { dataset: { id: conversation.id } },
      h(
        "a",
        {
          href: `/inbox/conversations/${encodeURIComponent(conversation.id)}`,
          class: "conversation",
          onClick: (event) => {
            if (event.metaKey || event.ctrlKey || event.shiftKey) return;
            event.preventDefault();
            this.list.querySelectorAll("[aria-current]").forEach((el) => el.removeAttribute("aria-current"));
            event.currentTarget.setAttribute("aria-current", "true");
            this.open(conversation.id);
          },
        },
        h("span", { class: "avatar", "aria-hidden": "true" }, initials(name)),
        h(
          "span",
          { class: "summary" },
          h("span", { class: "top" }, h("strong", { class: "contact" }, name), timeTag(message ? message.createdAt : conversation.lastMessageAt)),
          highlight && h("span", { class: "preview snippet" }, markedText(highlight)),
          h("span", { class: "tags" }, h("span", { class: "channel" }, providerLabel(conversation.app.provider)))
        )
      )
    );
  }
}

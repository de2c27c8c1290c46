// The team inside a conversation: comments with an @-picker (R-COMMENT), label chips and their
// editor (R-LABEL), and the `/` canned-reply picker of the reply box.

import { h, replace } from "./dom.js";

const ADD_COMMENT = `mutation($id: ID!, $text: String!, $mentions: [ID!]) {
  addComment(conversationId: $id, text: $text, mentionUserIds: $mentions) { id } }`;
const SET_LABELS = "mutation($id: ID!, $labels: [ID!]!) { setConversationLabels(id: $id, labelIds: $labels) { id } }";
const CREATE_LABEL = "mutation($name: String!, $color: String!) { createLabel(name: $name, color: $color) { id } }";
const CANNED = "query($search: String) { cannedReplies(search: $search) { id shortcut text owner { id } } }";
const RENDER = "mutation($id: ID!, $conversation: ID!) { renderCannedReply(id: $id, conversationId: $conversation) }";

// A label's color is #RRGGBB (the server checks it); set through the CSSOM, which the page's CSP allows.
export function labelChip(label) {
  const chip = h("span", { class: "label-chip", dataset: { labelId: label.id } }, label.name);
  chip.style.setProperty("--label-color", label.color);
  return chip;
}

// A listbox under a text box: the options for what is typed, moved through with the arrow keys,
// chosen with Enter, Tab or a click; Escape closes it.
class Picker {
  constructor(list, choose) {
    this.list = list;
    this.choose = choose;
    this.options = [];
    this.active = 0;
  }

  get open() {
    return !this.list.hidden;
  }

  show(options, label) {
    this.options = options;
    this.active = 0;
    this.list.hidden = options.length === 0;
    replace(
      this.list,
      options.map((option, index) =>
        h(
          "li",
          {
            role: "option",
            id: `${this.list.id}-${index}`,
            "aria-selected": String(index === 0),
            onMousedown: (event) => {
              event.preventDefault(); // keeps the focus in the text box
              this.pick(index);
            },
          },
          label(option)
        )
      )
    );
  }

  hide() {
    this.list.hidden = true;
    this.options = [];
  }

  // True when the key was the picker's.
  key(event) {
    if (!this.open) return false;
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      const step = event.key === "ArrowDown" ? 1 : -1;
      this.active = (this.active + step + this.options.length) % this.options.length;
      this.list.querySelectorAll("[role=option]").forEach((el, index) => el.setAttribute("aria-selected", String(index === this.active)));
    } else if (event.key === "Enter" || event.key === "Tab") {
      this.pick(this.active);
    } else if (event.key === "Escape") {
      this.hide();
    } else {
      return false;
    }
    event.preventDefault();
    return true;
  }

  pick(index) {
    const option = this.options[index];
    this.hide();
    if (option) this.choose(option);
  }
}

export class CommentBox {
  constructor({ api, form, toast, changed }) {
    this.api = api;
    this.form = form;
    this.toast = toast;
    this.changed = changed;
    this.text = form.querySelector("#comment-text");
    this.button = form.querySelector("#comment-send");
    this.picker = new Picker(form.querySelector("#mention-picker"), (user) => this.mention(user));
    this.people = [];
    this.mentioned = new Map();
    this.conversationId = null;
    form.hidden = false;
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.send();
    });
    this.text.addEventListener("input", () => this.suggest());
    this.text.addEventListener("keydown", (event) => {
      if (this.picker.key(event)) return;
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) form.requestSubmit();
    });
    this.text.addEventListener("blur", () => this.picker.hide());
  }

  // The people who may be mentioned: those who can see the conversation (its app's users).
  show(conversation) {
    if (this.conversationId !== conversation.id) {
      this.text.value = "";
      this.mentioned.clear();
      this.picker.hide();
    }
    this.conversationId = conversation.id;
    this.people = conversation.app.sharedWith;
  }

  typedMention() {
    const before = this.text.value.slice(0, this.text.selectionStart);
    const match = before.match(/(?:^|\s)@([^\s@]*)$/);
    return match ? { query: match[1], start: before.length - match[1].length - 1 } : null;
  }

  suggest() {
    const typed = this.typedMention();
    if (!typed) return this.picker.hide();
    const query = typed.query.toLowerCase();
    const matches = this.people.filter((user) => user.name.toLowerCase().includes(query)).slice(0, 8);
    this.picker.show(matches, (user) => user.name);
  }

  mention(user) {
    const typed = this.typedMention();
    if (!typed) return;
    const value = this.text.value;
    const caret = this.text.selectionStart;
    const inserted = `@${user.name} `;
    this.text.value = value.slice(0, typed.start) + inserted + value.slice(caret);
    const at = typed.start + inserted.length;
    this.text.setSelectionRange(at, at);
    this.mentioned.set(user.id, user.name);
    this.text.focus();
  }

  async send() {
    const text = this.text.value.trim();
    if (!text || !this.conversationId) return;
    // Only the people still named in the text are mentioned.
    const mentions = [...this.mentioned].filter(([, name]) => text.includes(`@${name}`)).map(([id]) => id);
    this.button.disabled = true;
    try {
      await this.api.request(ADD_COMMENT, { id: this.conversationId, text, mentions });
      this.text.value = "";
      this.mentioned.clear();
    } catch (error) {
      this.toast(error.message, true);
    } finally {
      this.button.disabled = false;
      await this.changed();
    }
  }
}

export class LabelEditor {
  constructor({ api, root, viewer, toast, changed }) {
    this.api = api;
    this.root = root;
    this.viewer = viewer;
    this.toast = toast;
    this.changed = changed;
    this.open = false;
    root.hidden = false;
  }

  render(conversation, labels) {
    const on = new Set(conversation.labels.map((label) => label.id));
    const key = JSON.stringify([conversation.id, conversation.labels, labels, this.open]);
    if (this.root.dataset.renderKey === key) return;
    this.root.dataset.renderKey = key;
    const toggle = h(
      "button",
      { type: "button", class: "link-button", "aria-expanded": String(this.open), onClick: () => this.setOpen(!this.open) },
      "Labels"
    );
    replace(
      this.root,
      h("span", { class: "chips", "aria-label": "Labels" }, conversation.labels.map(labelChip)),
      toggle,
      this.open &&
        h(
          "fieldset",
          { class: "label-editor" },
          h("legend", {}, "Labels of this conversation"),
          labels.length === 0 && h("p", { class: "empty" }, "No labels yet."),
          labels.map((label) =>
            h(
              "label",
              {},
              h("input", {
                type: "checkbox",
                checked: on.has(label.id),
                onChange: (event) => this.set(conversation.id, on, label.id, event.target.checked),
              }),
              labelChip(label)
            )
          ),
          this.viewer.role === "ADMIN" && this.creator()
        )
    );
  }

  creator() {
    const name = h("input", { id: "new-label-name", maxlength: "50", required: true, placeholder: "New label" });
    const color = h("input", { id: "new-label-color", type: "color", value: "#4f5bd5", "aria-label": "Color" });
    return h(
      "form",
      {
        class: "row",
        onSubmit: async (event) => {
          event.preventDefault();
          try {
            await this.api.request(CREATE_LABEL, { name: name.value, color: color.value });
            this.toast("Label created.");
          } catch (error) {
            this.toast(error.message, true);
          }
          await this.changed();
        },
      },
      h("label", { for: "new-label-name", class: "visually-hidden" }, "New label"),
      name,
      color,
      h("button", { type: "submit" }, "Create")
    );
  }

  setOpen(open) {
    this.open = open;
    this.root.dataset.renderKey = "";
    this.changed();
  }

  async set(conversationId, on, labelId, checked) {
    const next = new Set(on);
    if (checked) next.add(labelId);
    else next.delete(labelId);
    try {
      await this.api.request(SET_LABELS, { id: conversationId, labels: [...next] });
    } catch (error) {
      this.toast(error.message, true);
    }
    await this.changed();
  }
}

// Typing `/` then part of a shortcut in the reply box lists the matching canned replies; choosing
// one puts its text, filled in for this conversation, in the box, to be read and sent as any reply.
export class CannedPicker {
  constructor({ api, text, list, toast, conversationId }) {
    this.api = api;
    this.text = text;
    this.toast = toast;
    this.conversationId = conversationId;
    this.picker = new Picker(list, (canned) => this.fill(canned));
    this.request = 0;
    text.addEventListener("input", () => this.suggest());
    text.addEventListener("keydown", (event) => {
      if (this.picker.key(event)) event.stopImmediatePropagation();
    });
    text.addEventListener("blur", () => this.picker.hide());
  }

  async suggest() {
    const match = this.text.value.match(/^\/(\S*)$/);
    if (!match) return this.picker.hide();
    const request = ++this.request;
    let data;
    try {
      data = await this.api.request(CANNED, { search: match[1] || null });
    } catch (error) {
      this.toast(error.message, true);
      return;
    }
    if (request !== this.request || !/^\/\S*$/.test(this.text.value)) return;
    const shortcuts = data.cannedReplies.filter((canned) => canned.shortcut.startsWith(match[1].toLowerCase()) || match[1] === "");
    const rest = data.cannedReplies.filter((canned) => !shortcuts.includes(canned));
    this.picker.show([...shortcuts, ...rest].slice(0, 8), (canned) => [
      h("strong", {}, `/${canned.shortcut}`),
      " ",
      h("span", { class: "muted" }, canned.text.length > 60 ? `${canned.text.slice(0, 60)}…` : canned.text),
      canned.owner === null ? h("span", { class: "muted" }, " · team") : "",
    ]);
  }

  async fill(canned) {
    try {
      const data = await this.api.request(RENDER, { id: canned.id, conversation: this.conversationId() });
      this.text.value = data.renderCannedReply;
      this.text.focus();
      this.text.setSelectionRange(this.text.value.length, this.text.value.length);
    } catch (error) {
      this.toast(error.message, true);
    }
  }
}

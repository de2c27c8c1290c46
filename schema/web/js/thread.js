// One conversation: who and where, the actions on it, the messages with their delivery status,
// and the reply box (which says when the provider's reply window is closed).

import { h, initials, renderIf, replace, timeTag } from "./dom.js";
import { LINKED_FIELDS } from "./crm.js";
import { TEMPLATE_FIELDS, templateFields } from "./templates.js";
import { Presence } from "./presence.js";
import { CannedPicker, CommentBox, LabelEditor } from "./teamwork.js";

const STATUS_LABELS = {
  RECEIVED: "Received",
  QUEUED: "Queued",
  SENT: "Sent",
  DELIVERED: "Delivered",
  READ: "Read",
  FAILED: "Failed",
};

// Only http(s) links: a `javascript:` or `data:` href would run in the team's browser (the API
// already leaves such attachments out; this holds even if one slipped through).
const WEB_URL = /^https?:\/\//i;

// Shown inline; every other file is a download link (R-MEDIA).
const INLINE_IMAGES = new Set(["image/jpeg", "image/png", "image/gif", "image/webp"]);

const PROVIDERS = { TWILIO_WHATSAPP: "WhatsApp", MESSENGER: "Messenger", API: "API channel" };

export function providerLabel(provider) {
  return PROVIDERS[provider] || provider;
}

export function threadQuery(features) {
  return `query Thread($id: ID!) {
    conversation(id: $id) {
      id status section lastMessageAt
      contact { id name externalId avatarUrl }
      assignee { id name }
      app { id name provider installedBy { id } sharedWith { id name }
        ${features.templates ? `templates(status: APPROVED) { ${TEMPLATE_FIELDS} }` : ""} }
      ${features.replyWindow ? "canReply replyWindowEndsAt" : ""}
      ${features.linking ? LINKED_FIELDS : ""}
      ${features.labels ? "labels { id name color }" : ""}
      messages(last: 100) {
        edges { node { id direction text senderName status errorCode createdAt attachments { url contentType ${features.files ? "filename size" : ""} }
          ${features.comments ? "mentions { id name }" : ""}
          ${features.templates ? "template { name }" : ""} } }
      }
    }
    users(availableOnly: true) { id name }
    ${features.labels ? "labels { id name color }" : ""}
  }`;
}

const MUTATIONS = {
  assign: "mutation($id: ID!, $userId: ID!) { assignConversation(id: $id, userId: $userId) { id } }",
  unassign: "mutation($id: ID!) { unassignConversation(id: $id) { id } }",
  close: "mutation($id: ID!) { closeConversation(id: $id) { id } }",
  reopen: "mutation($id: ID!) { reopenConversation(id: $id) { id } }",
  delete: "mutation($id: ID!) { deleteConversation(id: $id) }",
  send: "mutation($id: ID!, $text: String!) { sendMessage(conversationId: $id, text: $text) { id status } }",
  sendFiles:
    "mutation($id: ID!, $text: String, $files: [ID!]) { sendMessage(conversationId: $id, text: $text, attachmentIds: $files) { id status } }",
  // R-PRESENCE: the same, refused (CONFLICT, NEW_ACTIVITY) if the thread moved on since $expected.
  sendGuarded: `mutation($id: ID!, $text: String, $files: [ID!], $expected: ID) {
    sendMessage(conversationId: $id, text: $text, attachmentIds: $files, expectedLastMessageId: $expected) { id status } }`,
  sendTemplate: `mutation($id: ID!, $templateId: ID!, $variables: [TemplateVariableInput!]!) {
    sendTemplate(conversationId: $id, templateId: $templateId, variables: $variables) { id status } }`,
};

export class ThreadView {
  constructor({ api, viewer, features, root, toast, changed, deleted }) {
    this.api = api;
    this.viewer = viewer;
    this.features = features;
    this.toast = toast;
    this.changed = changed;
    this.deleted = deleted;
    this.info = root.querySelector("#thread-info");
    this.actions = root.querySelector("#thread-actions");
    this.messages = root.querySelector("#messages");
    this.reply = root.querySelector("#reply");
    this.replyText = root.querySelector("#reply-text");
    this.replyButton = root.querySelector("#reply-send");
    this.replyWindow = root.querySelector("#reply-window");
    this.replyFile = root.querySelector("#reply-file");
    this.replyFileName = root.querySelector("#reply-file-name");
    this.replyAttach = root.querySelector("#reply-attach");
    this.replyAttach.hidden = !features.files;
    this.replyFile.addEventListener("change", () => {
      const file = this.replyFile.files[0];
      this.replyFileName.textContent = file ? file.name : "";
    });
    this.fileUrls = new Map(); // a stored file's URL -> its blob: URL, fetched once
    this.templateForm = root.querySelector("#template-form");
    this.confirmingDelete = false;
    this.conversation = null;
    this.reply.hidden = !features.send;
    this.replyWarning = h("p", { id: "reply-warning", class: "reply-window warning", role: "alert", hidden: true });
    this.replyWindow.before(this.replyWarning);
    this.writingSince = null; // the newest message shown when the reply now in the box was begun
    this.replyText.addEventListener("input", () => {
      if (this.writingSince === null && this.replyText.value.trim()) this.writingSince = this.newestId();
      if (this.presence) this.presence.typing();
    });
    if (features.presence) {
      const people = h("p", { id: "thread-presence", class: "presence", "aria-live": "polite" });
      this.messages.before(people); // above the messages, where the reader looks
      this.presence = new Presence({ viewer, root: people });
    }
    if (features.comments) {
      this.comments = new CommentBox({ api, form: root.querySelector("#comment"), toast, changed });
    }
    if (features.labels) {
      this.labels = new LabelEditor({ api, root: root.querySelector("#thread-labels"), viewer, toast, changed });
    }
    if (features.canned && features.send) {
      this.canned = new CannedPicker({
        api,
        text: this.replyText,
        list: root.querySelector("#canned-picker"),
        toast,
        conversationId: () => this.conversation && this.conversation.id,
      });
    }
    this.reply.addEventListener("submit", (event) => {
      event.preventDefault();
      this.send();
    });
    this.replyText.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) this.reply.requestSubmit();
    });
  }

  show(conversation, users, labels = []) {
    if (!this.conversation || this.conversation.id !== conversation.id) {
      this.confirmingDelete = false;
      this.replyText.value = "";
      this.writingSince = null;
      this.replyWarning.hidden = true;
      if (this.presence) this.presence.open(conversation.id);
    }
    this.conversation = conversation;
    this.renderInfo(conversation);
    this.renderActions(conversation, users);
    this.renderMessages(conversation);
    this.renderReply(conversation);
    if (this.comments) this.comments.show(conversation);
    if (this.labels) this.labels.render(conversation, labels);
  }

  // No conversation open any more: we left it (R-PRESENCE).
  close() {
    this.conversation = null;
    if (this.presence) this.presence.leave();
  }

  newestId() {
    const edges = this.conversation ? this.conversation.messages.edges : [];
    return edges.length ? edges[edges.length - 1].node.id : null;
  }

  renderInfo(c) {
    const name = c.contact.name || c.contact.externalId;
    renderIf(this.info, JSON.stringify([c.id, name, c.status, c.assignee && c.assignee.name, c.app.name]), () => [
      h("span", { class: "avatar", "aria-hidden": "true" }, initials(name)),
      h(
        "div",
        {},
        h("h2", { id: "thread-title", tabindex: "-1" }, name),
        h(
          "p",
          { class: "meta" },
          h("span", {}, c.contact.externalId),
          " · ",
          h("span", {}, `${c.app.name} (${providerLabel(c.app.provider)})`),
          " · ",
          h("span", { class: `chip ${c.status.toLowerCase()}`, id: "thread-status" }, c.status === "OPEN" ? "Open" : "Closed"),
          " · ",
          h("span", { id: "thread-assignee" }, c.assignee ? `Assigned to ${c.assignee.name}` : "Unassigned")
        )
      ),
    ]);
  }

  renderActions(c, users) {
    const access = new Set(c.app.sharedWith.map((user) => user.id));
    const candidates = users.filter((user) => access.has(user.id) && (!c.assignee || user.id !== c.assignee.id));
    const installer = c.app.installedBy.id === this.viewer.id;
    const key = JSON.stringify([c.id, c.status, c.assignee && c.assignee.id, candidates.map((u) => u.id), installer, this.confirmingDelete]);
    renderIf(this.actions, key, () => {
      const select = h(
        "select",
        { id: "assign-select", name: "userId", required: true },
        h("option", { value: "" }, candidates.length ? "Choose someone available…" : "Nobody available"),
        candidates.map((user) => h("option", { value: user.id }, user.id === this.viewer.id ? `${user.name} (me)` : user.name))
      );
      const assign = h(
        "form",
        {
          class: "assign",
          onSubmit: (event) => {
            event.preventDefault();
            if (select.value) this.run("assign", { id: c.id, userId: select.value }, "Assigned.");
          },
        },
        h("label", { for: "assign-select" }, c.assignee ? "Reassign to" : "Assign to"),
        select,
        h("button", { type: "submit", disabled: candidates.length === 0 }, "Assign")
      );
      return [
        assign,
        c.assignee && h("button", { type: "button", onClick: () => this.run("unassign", { id: c.id }, "Unassigned.") }, "Unassign"),
        c.status === "OPEN"
          ? h("button", { type: "button", onClick: () => this.run("close", { id: c.id }, "Closed.") }, "Close")
          : h("button", { type: "button", onClick: () => this.run("reopen", { id: c.id }, "Reopened.") }, "Reopen"),
        installer && this.deleteControls(c),
      ];
    });
  }

  deleteControls(c) {
    if (!this.confirmingDelete) {
      return h("button", { type: "button", class: "danger", onClick: () => this.confirmDelete(true) }, "Delete");
    }
    return h(
      "div",
      { class: "confirm", role: "group", "aria-label": "Confirm deletion" },
      h("span", {}, "Delete this conversation's history for good?"),
      h("button", { type: "button", class: "danger", onClick: () => this.remove(c.id) }, "Yes, delete"),
      h("button", { type: "button", onClick: () => this.confirmDelete(false) }, "Cancel")
    );
  }

  confirmDelete(on) {
    this.confirmingDelete = on;
    this.actions.dataset.renderKey = "";
    this.changed();
  }

  renderMessages(c) {
    const edges = c.messages.edges;
    const key = JSON.stringify(edges.map(({ node }) => [node.id, node.status]));
    if (this.messages.dataset.renderKey === key) return;
    const nearBottom = this.messages.scrollHeight - this.messages.scrollTop - this.messages.clientHeight < 80;
    const grew = edges.length !== Number(this.messages.dataset.count || 0) || this.messages.dataset.conversation !== c.id;
    this.messages.dataset.renderKey = key;
    this.messages.dataset.count = String(edges.length);
    this.messages.dataset.conversation = c.id;
    replace(
      this.messages,
      edges.length ? edges.map(({ node }) => this.message(node)) : h("li", { class: "empty" }, "No messages.")
    );
    if (nearBottom || grew) this.messages.scrollTop = this.messages.scrollHeight;
  }

  message(m) {
    if (m.direction === "INTERNAL") return this.comment(m);
    const outbound = m.direction === "OUTBOUND";
    const status = STATUS_LABELS[m.status] || m.status;
    return h(
      "li",
      { class: `message ${outbound ? "outbound" : "inbound"}`, dataset: { id: m.id, status: m.status } },
      h(
        "div",
        { class: "bubble" },
        h("p", { class: "sender" }, m.senderName || (outbound ? "You" : "Customer")),
        m.template && h("p", { class: "template-tag" }, `Template: ${m.template.name}`),
        m.text && h("p", { class: "text" }, m.text),
        m.attachments.length > 0 &&
          h(
            "ul",
            { class: "attachments" },
            m.attachments.map((a) => h("li", {}, this.attachment(a)))
          ),
        h(
          "p",
          { class: "meta" },
          timeTag(m.createdAt),
          outbound &&
            h(
              "span",
              { class: `status ${m.status.toLowerCase()}`, title: m.errorCode ? `Error ${m.errorCode}` : status },
              m.status === "FAILED" && m.errorCode ? `${status} (${m.errorCode})` : status
            )
        )
      )
    );
  }

  // A comment for the team (R-COMMENT): marked as internal, with whom it mentions.
  comment(m) {
    const mentions = m.mentions || [];
    return h(
      "li",
      { class: "message internal", dataset: { id: m.id } },
      h(
        "div",
        { class: "bubble" },
        h("p", { class: "sender" }, `${m.senderName || "Someone"} · internal comment`),
        h("p", { class: "text" }, m.text),
        mentions.length > 0 && h("p", { class: "mentions" }, `Mentions ${mentions.map((user) => user.name).join(", ")}`),
        h("p", { class: "meta" }, timeTag(m.createdAt))
      )
    );
  }

  attachment(a) {
    const label = a.filename || a.contentType || "Attachment";
    if (!WEB_URL.test(a.url)) return label;
    if (!this.features.files || !new URL(a.url, location.href).pathname.startsWith("/files/")) {
      return h("a", { href: a.url, target: "_blank", rel: "noopener noreferrer" }, label);
    }
    if (INLINE_IMAGES.has(a.contentType)) {
      const img = h("img", { class: "attachment-image", alt: a.filename || "Image" });
      this.fileUrl(a.url).then(
        (url) => (img.src = url),
        (error) => img.replaceWith(h("span", { class: "attachment-missing" }, error.message))
      );
      return img;
    }
    return h(
      "a",
      {
        href: "#",
        class: "attachment-download",
        onclick: async (event) => {
          event.preventDefault();
          try {
            const link = h("a", { href: await this.fileUrl(a.url), download: a.filename || "file" });
            document.body.append(link);
            link.click();
            link.remove();
          } catch (error) {
            this.toast(error.message, true);
          }
        },
      },
      label
    );
  }

  fileUrl(url) {
    if (!this.fileUrls.has(url)) {
      const loading = this.api.fileUrl(url);
      this.fileUrls.set(url, loading);
      loading.catch(() => this.fileUrls.delete(url)); // pending or gone: asked again next time
    }
    return this.fileUrls.get(url);
  }

  renderReply(c) {
    if (!this.features.send) return;
    const closed = this.features.replyWindow && !c.canReply;
    // No event marks the window's end: look again when it passes.
    clearTimeout(this.windowTimer);
    const endsIn = c.replyWindowEndsAt ? new Date(c.replyWindowEndsAt) - Date.now() : null;
    if (!closed && endsIn !== null && endsIn > 0 && endsIn < 2 ** 31 - 2000) this.windowTimer = setTimeout(() => this.changed(), endsIn + 1000);
    this.replyText.disabled = closed;
    this.replyButton.disabled = closed || this.sending; // a reload while sending must not re-enable it
    this.replyFile.disabled = closed;
    replace(
      this.replyWindow,
      closed
        ? h(
            "span",
            { class: "closed" },
            `The reply window is closed: ${providerLabel(c.app.provider)} allows a free-form reply only within 24 hours of the customer's last message. It opens again when they write.`
          )
        : this.features.replyWindow && c.replyWindowEndsAt
          ? ["Reply window open until ", timeTag(c.replyWindowEndsAt, { full: true }), "."]
          : ""
    );
    this.replyWindow.classList.toggle("warning", closed);
    this.renderTemplates(c, closed);
  }

  // R-TEMPLATE: with the window closed, an approved template still reaches the customer.
  renderTemplates(c, closed) {
    const offered = closed && this.features.templates && c.app.provider === "TWILIO_WHATSAPP";
    this.templateForm.hidden = !offered;
    if (!offered) {
      this.templateForm.dataset.renderKey = "";
      return;
    }
    const templates = c.app.templates || [];
    renderIf(this.templateForm, JSON.stringify([c.id, templates.map((t) => [t.id, t.body])]), () => {
      const fields = templateFields(templates, "thread");
      this.templateFields = fields;
      return [
        h("h3", {}, "Send a WhatsApp template"),
        h("p", { class: "hint" }, "An approved template can be sent outside the window; the customer's answer opens it again."),
        fields.elements,
        h("button", { type: "submit", class: "primary", disabled: templates.length === 0 }, "Send template"),
      ];
    });
    this.templateForm.onsubmit = (event) => {
      event.preventDefault();
      this.sendTemplate(c.id);
    };
  }

  async sendTemplate(id) {
    const fields = this.templateFields;
    if (!fields || !fields.templateId()) return;
    const button = this.templateForm.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      await this.api.request(MUTATIONS.sendTemplate, { id, templateId: fields.templateId(), variables: fields.variables() });
      this.toast("Template sent.");
      this.templateForm.dataset.renderKey = "";
    } catch (error) {
      this.toast(`Not sent: ${error.message}`, true);
    } finally {
      button.disabled = false;
      await this.changed();
    }
  }

  async send() {
    const text = this.replyText.value.trim();
    const file = this.features.files ? this.replyFile.files[0] : undefined;
    if ((!text && !file) || !this.conversation) return;
    this.sending = true;
    this.replyButton.disabled = true;
    const id = this.conversation.id;
    // What the writer has seen: the newest message when they began, or now if the text came otherwise.
    const expected = this.features.staleGuard ? this.writingSince || this.newestId() : null;
    try {
      const files = file ? [(await this.api.upload(file)).id] : null;
      if (expected) {
        await this.api.request(MUTATIONS.sendGuarded, { id, text: text || null, files, expected });
      } else if (file) {
        await this.api.request(MUTATIONS.sendFiles, { id, text: text || null, files });
      } else {
        await this.api.request(MUTATIONS.send, { id, text });
      }
      if (file) {
        this.replyFile.value = "";
        this.replyFileName.textContent = "";
      }
      this.replyText.value = "";
      this.writingSince = null;
      this.replyWarning.hidden = true;
    } catch (error) {
      if (error.code === "CONFLICT" && error.extensions.reason === "NEW_ACTIVITY") {
        // Nothing was sent: the reply stays in the box, the thread reloads below, and sending
        // again means sending after reading what came in.
        replace(this.replyWarning, "New activity since you started writing. Read it, then send again.");
        this.replyWarning.hidden = false;
        this.writingSince = null; // from now on, what the reloaded thread shows
        await this.changed();
      } else {
        this.toast(error.code === "REPLY_WINDOW_CLOSED" ? `Not sent: ${error.message}` : error.message, true);
      }
    } finally {
      this.sending = false;
      this.replyButton.disabled = false;
      await this.changed();
    }
  }

  async run(action, variables, done) {
    try {
      await this.api.request(MUTATIONS[action], variables);
      this.toast(done);
    } catch (error) {
      this.toast(error.message, true);
    }
    await this.changed();
  }

  async remove(id) {
    try {
      await this.api.request(MUTATIONS.delete, { id });
      this.confirmingDelete = false;
      this.toast("Conversation deleted.");
      this.deleted(id);
    } catch (error) {
      this.toast(error.message, true);
      this.confirmDelete(false);
    }
  }
}

// Linking a conversation to the CRM's person, lead and deal (existing or new), and the notes
// those links produced.

import { h, renderIf, replace, timeTag } from "./dom.js";
import { TEMPLATE_FIELDS, templateFields } from "./templates.js";

const NOTE = "notes { id content createdAt updatedAt windowStartsAt }";
export const LINKED_FIELDS = `linkedPerson { id name phone email ${NOTE} }
  linkedLead { id title ${NOTE} }
  linkedDeal { id title value currency ${NOTE} }`;

const KINDS = [
  { kind: "PERSON", field: "linkedPerson", label: "Person", root: "persons", label_of: (node) => node.name },
  { kind: "LEAD", field: "linkedLead", label: "Lead", root: "leads", label_of: (node) => node.title },
  { kind: "DEAL", field: "linkedDeal", label: "Deal", root: "deals", label_of: (node) => node.title },
];

const WHATSAPP_APPS = `query WhatsAppApps { messagingApps { id name provider templates(status: APPROVED) { ${TEMPLATE_FIELDS} } } }`;
const START = `mutation Start($appId: ID!, $to: String!, $templateId: ID!, $variables: [TemplateVariableInput!]!, $personId: ID) {
  startConversation(appId: $appId, to: $to, templateId: $templateId, variables: $variables, personId: $personId) { id } }`;
const LINK = `mutation Link($id: ID!, $target: LinkTarget!) { linkConversation(id: $id, target: $target) { id } }`;
const UNLINK = `mutation Unlink($id: ID!, $kind: LinkKind!) { unlinkConversation(id: $id, kind: $kind) { id } }`;

// Notes link back to their conversation (PUBLIC_BASE_URL/inbox/conversations/<id>): make links clickable.
function linkified(text) {
  return text.split(/(https?:\/\/[^\s]+)/).map((part, index) => (index % 2 ? h("a", { href: part }, part) : part));
}

export class CrmPanel {
  constructor({ api, root, toast, changed, features = {}, open = () => {} }) {
    this.api = api;
    this.root = root;
    this.toast = toast;
    this.changed = changed;
    this.features = features;
    this.open = open;
    this.links = h("div");
    // Writing first (R-TEMPLATE) sits apart from the links, so live updates never wipe a half-filled form.
    this.start = h("section", { class: "crm-kind start-whatsapp", "aria-label": "New WhatsApp conversation" });
    this.root.replaceChildren(this.links, this.start);
  }

  render(conversation) {
    const key = JSON.stringify([
      conversation.id,
      KINDS.map(({ field }) => conversation[field] && [conversation[field].id, conversation[field].notes.map((n) => [n.id, n.updatedAt, n.content])]),
    ]);
    renderIf(this.links, key, () => [h("h2", {}, "CRM"), KINDS.map((spec) => this.section(conversation, spec))]);
    this.renderStart(conversation);
  }

  // "New WhatsApp conversation" for the linked person: an approved template to their phone.
  renderStart(conversation) {
    const person = this.features.templates ? conversation.linkedPerson : null;
    this.start.hidden = !person;
    if (!person || this.formFor !== `${conversation.id}:${person.id}`) this.formFor = null;
    if (!person) {
      this.start.dataset.renderKey = "";
      return;
    }
    if (this.formFor) return; // the form is open: live updates leave it as it is
    renderIf(this.start, JSON.stringify([conversation.id, person.id]), () =>
      h("button", { type: "button", class: "secondary", onClick: () => this.startForm(conversation.id, person) }, "New WhatsApp conversation")
    );
  }

  async startForm(conversationId, person) {
    let apps;
    try {
      apps = (await this.api.request(WHATSAPP_APPS)).messagingApps.filter((app) => app.provider === "TWILIO_WHATSAPP");
    } catch (error) {
      this.toast(error.message, true);
      return;
    }
    if (!apps.length) {
      this.toast("No WhatsApp app is shared with you.", true);
      return;
    }
    const appSelect = h("select", { id: "start-app", name: "appId" }, apps.map((app) => h("option", { value: app.id }, app.name)));
    const phone = h("input", { id: "start-to", name: "to", type: "tel", required: true, value: person.phone || "", placeholder: "+4915112345678", autocomplete: "off" });
    const templates = h("div", { class: "start-template" });
    let fields;
    const pickApp = () => {
      fields = templateFields(apps.find((app) => app.id === appSelect.value).templates, "start");
      replace(templates, fields.elements);
    };
    appSelect.addEventListener("change", pickApp);
    pickApp();
    const form = h(
      "form",
      {
        class: "start-form",
        onSubmit: async (event) => {
          event.preventDefault();
          if (!fields.templateId()) return;
          try {
            const data = await this.api.request(START, {
              appId: appSelect.value,
              to: phone.value.trim(),
              templateId: fields.templateId(),
              variables: fields.variables(),
              personId: person.id,
            });
            this.toast(`WhatsApp conversation with ${person.name} started.`);
            this.formFor = null;
            this.start.dataset.renderKey = "";
            this.open(data.startConversation.id);
          } catch (error) {
            this.toast(`Not started: ${error.message}`, true);
          }
        },
      },
      h("h3", {}, `New WhatsApp conversation with ${person.name}`),
      h("label", { for: appSelect.id }, "WhatsApp app"),
      appSelect,
      h("label", { for: phone.id }, "Phone number (E.164)"),
      phone,
      templates,
      h(
        "div",
        { class: "row" },
        h("button", { type: "submit", class: "primary" }, "Start conversation"),
        h("button", { type: "button", onClick: () => this.closeForm() }, "Cancel")
      )
    );
    this.formFor = `${conversationId}:${person.id}`;
    this.start.dataset.renderKey = "";
    replace(this.start, form);
    phone.focus();
  }

  closeForm() {
    this.formFor = null;
    this.changed();
  }

  section(conversation, spec) {
    const linked = conversation[spec.field];
    const headingId = `crm-${spec.kind.toLowerCase()}`;
    if (linked) {
      return h(
        "section",
        { class: "crm-kind", "aria-labelledby": headingId, dataset: { kind: spec.kind } },
        h("h3", { id: headingId }, spec.label),
        h(
          "p",
          { class: "linked" },
          h("strong", {}, spec.label_of(linked)),
          h("button", { type: "button", class: "link-button", onClick: () => this.unlink(conversation.id, spec) }, `Unlink ${spec.label.toLowerCase()}`)
        ),
        linked.notes.length
          ? h(
              "ol",
              { class: "notes", "aria-label": `Notes on ${spec.label_of(linked)}` },
              linked.notes.map((note) => h("li", { class: "note" }, h("pre", {}, linkified(note.content)), h("p", { class: "meta" }, "Updated ", timeTag(note.updatedAt, { full: true }))))
            )
          : h("p", { class: "hint" }, "No notes yet.")
      );
    }
    const results = h("ul", { class: "results", "aria-live": "polite" });
    const input = h("input", {
      type: "search",
      name: "q",
      id: `${headingId}-q`,
      placeholder: spec.kind === "PERSON" ? conversation.contact.name || "" : "",
      autocomplete: "off",
    });
    const form = h(
      "form",
      {
        class: "link-form",
        onSubmit: (event) => {
          event.preventDefault();
          this.search(conversation, spec, input.value.trim(), results);
        },
      },
      h("label", { for: input.id }, `Find or create a ${spec.label.toLowerCase()}`),
      h("div", { class: "row" }, input, h("button", { type: "submit" }, "Search")),
      results,
      h("button", { type: "button", class: "secondary", onClick: () => this.create(conversation, spec, input.value.trim()) }, `New ${spec.label.toLowerCase()}`)
    );
    return h("section", { class: "crm-kind", "aria-labelledby": headingId, dataset: { kind: spec.kind } }, h("h3", { id: headingId }, spec.label), form);
  }

  async search(conversation, spec, text, results) {
    try {
      const data = await this.api.request(
        `query Find($q: String) { ${spec.root}(search: $q, first: 8) { edges { node { id ${spec.kind === "PERSON" ? "name" : "title"} } } } }`,
        { q: text || null }
      );
      const nodes = data[spec.root].edges.map((edge) => edge.node);
      results.replaceChildren(
        ...(nodes.length
          ? nodes.map((node) =>
              h("li", {}, h("button", { type: "button", class: "link-button", onClick: () => this.link(conversation.id, { [`${spec.kind.toLowerCase()}Id`]: node.id }) }, `Link ${spec.label_of(node)}`))
            )
          : [h("li", { class: "hint" }, `No ${spec.label.toLowerCase()} found.`)])
      );
    } catch (error) {
      this.toast(error.message, true);
    }
  }

  create(conversation, spec, text) {
    const contactName = conversation.contact.name || conversation.contact.externalId;
    if (spec.kind === "PERSON") {
      const phone = /^\+\d{6,}$/.test(conversation.contact.externalId) ? conversation.contact.externalId : null;
      return this.link(conversation.id, { newPerson: { name: text || contactName, phone } });
    }
    const title = text || `${contactName} (${spec.label.toLowerCase()})`;
    return this.link(conversation.id, spec.kind === "LEAD" ? { newLead: { title } } : { newDeal: { title } });
  }

  async link(id, target) {
    try {
      await this.api.request(LINK, { id, target });
      this.toast("Linked; a note records the conversation.");
      await this.changed();
    } catch (error) {
      this.toast(error.message, true);
    }
  }

  async unlink(id, spec) {
    try {
      await this.api.request(UNLINK, { id, kind: spec.kind });
      this.toast(`${spec.label} unlinked; its notes stay.`);
      await this.changed();
    } catch (error) {
      this.toast(error.message, true);
    }
  }
}

// The bell: the stored notifications, the per-kind settings (desktop / email), and desktop
// notifications through the browser's Notification API, as the settings say.

import { h, replace, timeTag } from "./dom.js";

const KINDS = [
  ["CONVERSATION_ASSIGNED_TO_ME", "A conversation is assigned to me"],
  ["NEW_MESSAGE_ASSIGNED_TO_ME", "New message in my conversations"],
  ["NEW_MESSAGE_UNASSIGNED", "New message in unassigned conversations"],
  ["NEW_MESSAGE_ASSIGNED_TO_OTHERS", "New message in others' conversations"],
  ["MENTIONED", "Someone mentions me in a comment"],
];

const NOTIFICATION = `id kind readAt createdAt
  conversation { id contact { name externalId } }
  message { text senderName }
  actor { id name }`;

const LOAD = `{
  notificationSettings { kind desktop email }
  notifications(first: 20) { unreadCount edges { node { ${NOTIFICATION} } } }
}`;

const SAVE = `mutation Save($settings: [NotificationSettingInput!]!) {
  updateNotificationSettings(settings: $settings) { kind desktop email }
}`;

export const NOTIFICATION_STREAM = `subscription { notifications { ${NOTIFICATION} } }`;

export function describe(notification) {
  const contact = notification.conversation
    ? notification.conversation.contact.name || notification.conversation.contact.externalId
    : "a customer";
  if (notification.kind === "CONVERSATION_ASSIGNED_TO_ME") {
    const who = notification.actor ? notification.actor.name : "Someone";
    return { title: "Conversation assigned to you", body: `${who} assigned you the conversation with ${contact}.` };
  }
  if (notification.kind === "MENTIONED") {
    const who = notification.actor ? notification.actor.name : "Someone";
    const said = notification.message && notification.message.text ? notification.message.text : "";
    return { title: `${who} mentioned you`, body: `On the conversation with ${contact}: ${said}` };
  }
  const text = notification.message && notification.message.text ? notification.message.text : "(attachment)";
  return { title: `New message from ${contact}`, body: text };
}

export class Bell {
  constructor({ api, features, root, onOpen, toast }) {
    this.api = api;
    this.features = features;
    this.onOpen = onOpen;
    this.toast = toast;
    this.settings = new Map();
    this.items = [];
    this.unread = 0;
    this.button = root.querySelector("#bell");
    this.badge = root.querySelector("#bell-count");
    this.panel = root.querySelector("#bell-panel");
    this.list = root.querySelector("#notification-list");
    this.form = root.querySelector("#notification-settings");
    this.permission = root.querySelector("#desktop-permission");
    this.markRead = root.querySelector("#mark-read");
    root.hidden = false;
    this.button.addEventListener("click", () => this.toggle());
    this.panel.addEventListener("keydown", (event) => {
      if (event.key === "Escape") {
        this.toggle(false);
        this.button.focus();
      }
    });
    document.addEventListener("click", (event) => {
      if (!this.panel.hidden && !root.contains(event.target)) this.toggle(false);
    });
    this.markRead.hidden = !features.markRead;
    this.markRead.addEventListener("click", () => this.markAllRead());
    this.form.addEventListener("change", (event) => this.saveSettings(event.target));
  }

  async load() {
    const data = await this.api.request(LOAD);
    this.settings = new Map(data.notificationSettings.map((setting) => [setting.kind, setting]));
    this.items = data.notifications.edges.map((edge) => edge.node);
    this.unread = data.notifications.unreadCount;
    this.render();
  }

  toggle(open = this.panel.hidden) {
    this.panel.hidden = !open;
    this.button.setAttribute("aria-expanded", String(open));
    if (open) {
      this.renderPermission();
      this.panel.querySelector("h2").focus();
    }
  }

  // A notification from the subscription: it exists because the viewer has desktop on for its kind.
  received(notification) {
    this.items = [notification, ...this.items.filter((item) => item.id !== notification.id)].slice(0, 20);
    if (!notification.readAt) this.unread += 1;
    this.render();
    const setting = this.settings.get(notification.kind);
    if (setting && !setting.desktop) return;
    if (!("Notification" in window) || Notification.permission !== "granted") return;
    const { title, body } = describe(notification);
    const shown = new Notification(title, { body, tag: notification.id });
    shown.onclick = () => {
      window.focus();
      if (notification.conversation) this.onOpen(notification.conversation.id);
    };
  }

  render() {
    this.badge.hidden = this.unread === 0;
    this.badge.textContent = this.unread > 99 ? "99+" : String(this.unread);
    this.button.setAttribute("aria-label", this.unread ? `Notifications, ${this.unread} unread` : "Notifications");
    replace(
      this.list,
      this.items.length
        ? this.items.map((item) => {
            const { title, body } = describe(item);
            return h(
              "li",
              { class: item.readAt ? "read" : "unread" },
              h(
                "button",
                {
                  type: "button",
                  class: "notification",
                  onClick: () => {
                    this.toggle(false);
                    if (item.conversation) this.onOpen(item.conversation.id);
                  },
                },
                h("strong", {}, title),
                h("span", {}, body),
                timeTag(item.createdAt)
              )
            );
          })
        : h("li", { class: "empty" }, "Nothing yet.")
    );
    replace(
      this.form,
      h(
        "table",
        {},
        h("caption", {}, "Tell me about"),
        h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Event"), h("th", { scope: "col" }, "Desktop"), h("th", { scope: "col" }, "Email"))),
        h(
          "tbody",
          {},
          KINDS.map(([kind, label]) => {
            const setting = this.settings.get(kind) || { desktop: false, email: false };
            return h(
              "tr",
              {},
              h("th", { scope: "row", id: `kind-${kind}` }, label),
              ["desktop", "email"].map((channel) =>
                h(
                  "td",
                  {},
                  h("input", {
                    type: "checkbox",
                    name: `${kind}:${channel}`,
                    checked: Boolean(setting[channel]),
                    "aria-label": `${label}: ${channel}`,
                  })
                )
              )
            );
          })
        )
      )
    );
    this.renderPermission();
  }

  renderPermission() {
    const supported = "Notification" in window;
    const state = supported ? Notification.permission : "unsupported";
    const wantsDesktop = [...this.settings.values()].some((setting) => setting.desktop);
    replace(
      this.permission,
      state === "granted" || !wantsDesktop
        ? ""
        : state === "default"
          ? h("button", { type: "button", onClick: () => this.askPermission() }, "Allow desktop notifications")
          : h("p", { class: "hint" }, supported ? "Desktop notifications are blocked in this browser's settings." : "This browser cannot show desktop notifications.")
    );
  }

  async askPermission() {
    await Notification.requestPermission();
    this.renderPermission();
  }

  async saveSettings(input) {
    const [kind, channel] = input.name.split(":");
    const current = this.settings.get(kind) || { kind, desktop: false, email: false };
    const changed = { kind, desktop: current.desktop, email: current.email, [channel]: input.checked };
    try {
      const data = await this.api.request(SAVE, { settings: [changed] });
      for (const setting of data.updateNotificationSettings) this.settings.set(setting.kind, setting);
      this.toast("Notification settings saved.");
      if (channel === "desktop" && input.checked && "Notification" in window && Notification.permission === "default") {
        await this.askPermission();
      }
    } catch (error) {
      input.checked = !input.checked;
      this.toast(error.message, true);
    }
    this.renderPermission();
  }

  // Opening a conversation reads its notifications.
  async seen(conversationId) {
    const ids = this.items.filter((item) => !item.readAt && item.conversation && item.conversation.id === conversationId).map((item) => item.id);
    if (!ids.length || !this.features.markRead) return;
    const now = new Date().toISOString();
    for (const item of this.items) if (ids.includes(item.id)) item.readAt = now;
    this.unread = Math.max(0, this.unread - ids.length);
    this.render();
    await this.api.request("mutation($ids: [ID!]) { markNotificationsRead(ids: $ids) }", { ids }).catch(() => {});
  }

  async markAllRead() {
    await this.api.request("mutation { markNotificationsRead }");
    await this.load();
  }
}

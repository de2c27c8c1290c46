// R-PRESENCE: says who else has the open conversation in front of them, and tells them about us.
// Heartbeats go over the app's WebSocket, so the server ends our presence when the socket closes
// (a closed tab, a lost network) without waiting for the 30 s expiry.

import { h, replace } from "./dom.js";

const HEARTBEAT_MS = 15000; // the server forgets us 30 s after the last one; it asks for 20 s or less
const TYPING_IDLE_MS = 4000; // back to VIEWING after this long without a keystroke

const SET = "mutation($id: ID!, $activity: PresenceActivity) { setPresence(conversationId: $id, activity: $activity) }";
const WATCH = "subscription($id: ID!) { conversationPresence(conversationId: $id) { user { id name } activity since } }";

export class Presence {
  constructor({ viewer, root }) {
    this.viewer = viewer;
    this.root = root;
    this.live = null;
    this.conversationId = null;
    this.activity = null;
    this.unsubscribe = null;
    this.heartbeat = null;
    this.idle = null;
  }

  // The live client starts after the first thread may already be open.
  attach(live) {
    this.live = live;
    if (this.conversationId) this.start();
  }

  open(conversationId) {
    if (this.conversationId === conversationId) return;
    this.leave();
    this.conversationId = conversationId;
    this.activity = "VIEWING";
    if (this.live) this.start();
  }

  // A keystroke in the reply box: TYPING now, VIEWING once the keys rest.
  typing() {
    if (!this.conversationId) return;
    clearTimeout(this.idle);
    this.idle = setTimeout(() => this.set("VIEWING"), TYPING_IDLE_MS);
    if (this.activity !== "TYPING") this.set("TYPING");
  }

  leave() {
    if (this.conversationId && this.live) this.live.execute({ query: SET, variables: { id: this.conversationId, activity: null } });
    if (this.unsubscribe) this.unsubscribe();
    clearInterval(this.heartbeat);
    clearTimeout(this.idle);
    this.unsubscribe = null;
    this.conversationId = null;
    this.activity = null;
    replace(this.root, "");
  }

  start() {
    const id = this.conversationId;
    // Asked on every (re)connect: a new socket carries no presence, so announce it again first.
    this.unsubscribe = this.live.subscribe(
      () => {
        this.beat();
        return { query: WATCH, variables: { id } };
      },
      (data) => this.render(data.conversationPresence),
      () => true // NOT_FOUND (deleted, access removed): nothing to show, and no point resubscribing
    );
    clearInterval(this.heartbeat);
    this.heartbeat = setInterval(() => this.beat(), HEARTBEAT_MS);
  }

  set(activity) {
    this.activity = activity;
    this.beat();
  }

  beat() {
    if (this.conversationId && this.live) {
      this.live.execute({ query: SET, variables: { id: this.conversationId, activity: this.activity } });
    }
  }

  render(entries) {
    const others = entries.filter((entry) => entry.user.id !== this.viewer.id);
    replace(
      this.root,
      others.map((entry) =>
        h("span", { class: `presence-entry ${entry.activity.toLowerCase()}`, dataset: { userId: entry.user.id } },
          entry.activity === "TYPING" ? `${entry.user.name} is typing…` : `${entry.user.name} is viewing`)
      )
    );
  }
}

// A graphql-transport-ws client: authenticates in connection_init, keeps its subscriptions across
// drops (reconnecting with back-off), and lets each subscription rebuild its variables on every
// (re)connect, so the inbox resumes from its last cursor.

const PROTOCOL = "graphql-transport-ws";

export class LiveClient {
  // stillSignedIn(): asked when the server closes the socket with 4403 (a revoked token, or rights
  // that changed, e.g. a demoted admin): true reconnects with the rights the token has now.
  constructor({ token, onAuthFailed = () => {}, stillSignedIn = async () => false, onStatus = () => {}, onReconnected = () => {} }) {
    this.token = token;
    this.onAuthFailed = onAuthFailed;
    this.stillSignedIn = stillSignedIn;
    this.onStatus = onStatus;
    this.onReconnected = onReconnected;
    this.subscriptions = new Map();
    this.oneOffs = new Set();
    this.socket = null;
    this.acked = false;
    this.attempt = 0;
    this.everConnected = false;
    this.stopped = false;
    this.timer = null;
    this.nextId = 1;
    window.addEventListener("online", () => this.reconnectNow());
  }

  // payload(): {query, variables}, asked on every (re)connect; onNext(data); onError(errors) may
  // return true when it handled them itself. Returns an unsubscribe function.
  subscribe(payload, onNext, onError = () => false) {
    const id = String(this.nextId++);
    this.subscriptions.set(id, { payload, onNext, onError });
    if (this.acked) this.send({ id, type: "subscribe", payload: payload() });
    else this.connect();
    return () => {
      if (this.subscriptions.delete(id) && this.acked) this.send({ id, type: "complete" });
    };
  }

  // A one-off operation (a mutation) over this socket, so what it sets can end with the socket
  // (R-PRESENCE). Sent only while connected: a heartbeat missed during a drop is sent again on the
  // next one. Never replayed on reconnect, unlike subscriptions.
  execute(payload) {
    if (!this.acked) return false;
    const id = String(this.nextId++);
    this.oneOffs.add(id);
    this.send({ id, type: "subscribe", payload });
    return true;
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    if (this.socket) this.socket.close(1000, "signed out");
  }

  // Holds the connection closed until resume(), as a network outage would.
  pause() {
    this.paused = true;
    clearTimeout(this.timer);
    if (this.socket) this.socket.close(4000, "paused");
  }

  resume() {
    this.paused = false;
    this.reconnectNow();
  }

  reconnectNow() {
    if (this.stopped) return;
    this.attempt = 0;
    if (this.socket) this.socket.close(4000, "reconnect");
    else this.connect();
  }

  connect() {
    if (this.stopped || this.paused || this.socket) return;
    clearTimeout(this.timer);
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const socket = new WebSocket(`${scheme}//${location.host}/graphql`, PROTOCOL);
    this.socket = socket;
    this.onStatus("connecting");
    socket.addEventListener("open", () => {
      this.send({ type: "connection_init", payload: { authorization: `Bearer ${this.token}` } });
    });
    socket.addEventListener("message", (event) => this.receive(JSON.parse(event.data)));
    socket.addEventListener("close", (event) => this.closed(socket, event));
  }

  receive(message) {
    switch (message.type) {
      case "connection_ack": {
        this.acked = true;
        this.attempt = 0;
        this.onStatus("live");
        for (const [id, sub] of this.subscriptions) this.send({ id, type: "subscribe", payload: sub.payload() });
        if (this.everConnected) this.onReconnected();
        this.everConnected = true;
        break;
      }
      case "ping":
        this.send({ type: "pong" });
        break;
      case "next": {
        if (this.oneOffs.has(message.id)) break;
        const sub = this.subscriptions.get(message.id);
        if (!sub) break;
        if (message.payload.errors && message.payload.errors.length) this.failed(sub, message.payload.errors);
        else sub.onNext(message.payload.data);
        break;
      }
      case "error":
        if (this.oneOffs.delete(message.id)) {
          console.warn("operation error", message.payload);
          break;
        }
        this.failed(this.subscriptions.get(message.id), message.payload);
        break;
      case "complete":
        if (this.oneOffs.delete(message.id)) break;
        // The server ended a subscription (e.g. SUBSCRIBER_TOO_SLOW): start again from the last cursor.
        if (this.subscriptions.has(message.id)) this.reconnectNow();
        break;
    }
  }

  failed(sub, errors) {
    const code = errors && errors[0] && errors[0].extensions && errors[0].extensions.code;
    if (code === "UNAUTHENTICATED") {
      this.stop();
      this.onAuthFailed();
      return;
    }
    console.warn("subscription error", errors);
    if (sub && sub.onError(errors)) return;
    if (this.socket) this.socket.close(4000, "resubscribe");
  }

  closed(socket, event) {
    if (this.socket !== socket) return;
    this.socket = null;
    this.acked = false;
    this.oneOffs.clear();
    if (this.stopped) return;
    if (event.code === 4403 || event.code === 4401) {
      this.onStatus("reconnecting");
      this.stillSignedIn().then((signedIn) => {
        if (this.stopped) return;
        if (signedIn) return this.retry();
        this.stopped = true;
        this.onStatus("offline");
        this.onAuthFailed();
      });
      return;
    }
    this.onStatus("reconnecting");
    this.retry();
  }

  retry() {
    if (this.paused) return;
    const delay = Math.min(8000, 250 * 2 ** this.attempt) * (0.75 + Math.random() / 2);
    this.attempt += 1;
    this.timer = setTimeout(() => this.connect(), this.attempt === 1 ? 0 : delay);
  }

  send(message) {
    if (this.socket && this.socket.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify(message));
  }
}

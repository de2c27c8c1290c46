// GraphiQL for Switchboard, from this server's own files: no CDN, nothing leaves this origin.
//
// Tabs, history and headers (so your API token) live in this page's memory only, gone when it
// closes, unless you tick "Remember tabs and headers (your token) in this browser" (or open
// /graphql?persist=1; ?persist=0 undoes it): then GraphiQL keeps them in this browser's
// localStorage. Without that choice, what an earlier GraphiQL page left there (Strawberry's kept
// headers by default) is deleted on load.
(function () {
  "use strict";

  const NAMESPACE = "graphiql:"; // GraphiQL's own keys in localStorage
  const CHOICE = "switchboard:graphiql-persist"; // "1" once the admin opted in; never a secret

  function browserStorage() {
    try {
      return window.localStorage;
    } catch (error) {
      return null; // storage disabled by the browser
    }
  }

  // The Storage interface GraphiQL reads and writes: this page's memory, or (opted in) the
  // browser's localStorage, and only GraphiQL's keys there (its "clear storage" must not sign the
  // inbox app on this origin out). Switching moves GraphiQL's keys from one to the other.
  class SwitchableStorage {
    constructor(local, persist) {
      this.local = local;
      this.memory = new Map();
      this.persist = persist;
    }
    keys() {
      return this.persist ? Object.keys(this.local).filter((key) => key.startsWith(NAMESPACE)) : Array.from(this.memory.keys());
    }
    get length() {
      return this.keys().length;
    }
    key(index) {
      const keys = this.keys();
      return index < keys.length ? keys[index] : null;
    }
    getItem(key) {
      if (this.persist) return this.local.getItem(key);
      return this.memory.has(key) ? this.memory.get(key) : null;
    }
    setItem(key, value) {
      if (this.persist) this.local.setItem(key, value);
      else this.memory.set(key, String(value));
    }
    removeItem(key) {
      if (this.persist) this.local.removeItem(key);
      else this.memory.delete(key);
    }
    clear() {
      for (const key of this.keys()) this.removeItem(key);
    }
    forgetPersisted() {
      if (!this.local) return;
      for (const key of Object.keys(this.local)) if (key.startsWith(NAMESPACE)) this.local.removeItem(key);
    }
    switchTo(persist) {
      if (!this.local || persist === this.persist) return;
      if (persist) {
        for (const [key, value] of this.memory) this.local.setItem(key, value);
        this.memory.clear();
        this.local.setItem(CHOICE, "1");
      } else {
        for (const key of this.keys()) this.memory.set(key, this.local.getItem(key));
        this.forgetPersisted();
        this.local.removeItem(CHOICE);
      }
      this.persist = persist;
    }
  }

  const local = browserStorage();
  const asked = new URLSearchParams(window.location.search).get("persist");
  if (local && asked === "1") local.setItem(CHOICE, "1");
  if (local && asked === "0") local.removeItem(CHOICE);
  const storage = new SwitchableStorage(local, Boolean(local) && local.getItem(CHOICE) === "1");
  if (!storage.persist) storage.forgetPersisted();

  const endpoint = new URL("/graphql", window.location.href);
  const socket = new URL(endpoint);
  socket.protocol = endpoint.protocol === "https:" ? "wss:" : "ws:";

  // Queries and mutations go over HTTP with the Headers tab's headers; subscriptions over the
  // WebSocket (graphql-transport-ws), whose connection_init carries the same headers.
  const fetcher = GraphiQL.createFetcher({ url: endpoint.href, subscriptionUrl: socket.href });

  const DEFAULT_QUERY = `# Switchboard's GraphQL API.
#
# Put your API token in the Headers tab below:
#   {"Authorization": "Bearer <your token>"}
#
# Queries and mutations run over HTTP;
# subscriptions (inboxEvents, notifications)
# over the WebSocket at /graphql.
#
# Your token stays in this page's memory unless
# you tick "Remember tabs and headers" below.

query Me {
  viewer {
    name
    role
  }
}
`;

  const h = React.createElement;

  function RememberToggle() {
    const [persist, setPersist] = React.useState(storage.persist);
    function change(event) {
      storage.switchTo(event.target.checked);
      setPersist(storage.persist);
    }
    return h(
      "label",
      { className: "switchboard-persist" },
      h("input", { type: "checkbox", checked: persist, disabled: !local, onChange: change }),
      "Remember tabs and headers (your token) in this browser"
    );
  }

  ReactDOM.createRoot(document.getElementById("graphiql")).render(
    h(
      GraphiQL,
      {
        fetcher: fetcher,
        storage: storage,
        shouldPersistHeaders: true,
        showPersistHeadersSettings: false,
        isHeadersEditorEnabled: true,
        defaultEditorToolsVisibility: "headers",
        defaultQuery: DEFAULT_QUERY,
        inputValueDeprecation: true,
      },
      h(GraphiQL.Footer, null, h(RememberToggle))
    )
  );
})();

// GraphQL over HTTP, and what the served schema offers (features appear as their API lands).

export class ApiError extends Error {
  constructor(message, code, extensions = {}) {
    super(message);
    this.code = code;
    this.extensions = extensions;
  }
}

export class Api {
  constructor(token) {
    this.token = token;
  }

  async request(query, variables = {}) {
    let response;
    try {
      response = await fetch("/graphql", {
        method: "POST",
        headers: this.token
          ? { "Content-Type": "application/json", Authorization: `Bearer ${this.token}` }
          : { "Content-Type": "application/json" },
        body: JSON.stringify({ query, variables }),
      });
    } catch (error) {
      throw new ApiError("The server cannot be reached.", "NETWORK");
    }
    return this.read(response);
  }

  async read(response) {
    let body;
    try {
      body = await response.json();
    } catch (error) {
      throw new ApiError(`The server answered ${response.status}.`, response.status === 503 ? "UNAVAILABLE" : "INTERNAL");
    }
    if (body.errors && body.errors.length) {
      const first = body.errors[0];
      const extensions = first.extensions || {};
      throw new ApiError(first.message, extensions.code || "INTERNAL", extensions);
    }
    return body.data;
  }

  // R-MEDIA: one file as a GraphQL multipart request (operations, map, then the file part).
  async upload(file) {
    const form = new FormData();
    form.append("operations", JSON.stringify({ query: UPLOAD, variables: { file: null } }));
    form.append("map", JSON.stringify({ 0: ["variables.file"] }));
    form.append("0", file, file.name);
    let response;
    try {
      response = await fetch("/graphql", { method: "POST", headers: { Authorization: `Bearer ${this.token}` }, body: form });
    } catch (error) {
      throw new ApiError("The server cannot be reached.", "NETWORK");
    }
    return (await this.read(response)).uploadFile;
  }

  // A stored file needs the bearer token, which an <img src> cannot send: fetched here, then
  // shown from a blob: URL. Only our own /files/ path is fetched, on this origin.
  async fileUrl(url) {
    const path = new URL(url, location.href).pathname;
    if (!path.startsWith("/files/")) throw new ApiError("Not a file of this inbox.", "NOT_FOUND");
    let response;
    try {
      response = await fetch(path, { headers: { Authorization: `Bearer ${this.token}` } });
    } catch (error) {
      throw new ApiError("The server cannot be reached.", "NETWORK");
    }
    if (!response.ok) {
      const pending = response.status === 503;
      throw new ApiError(pending ? "Still being copied from the provider…" : "This file is not available.", pending ? "PENDING" : "NOT_FOUND");
    }
    return URL.createObjectURL(await response.blob());
  }

  async features() {
    const data = await this.request(FEATURES);
    const names = (type) => new Set((type && type.fields ? type.fields : []).map((field) => field.name));
    const query = names(data.__schema.queryType);
    const mutation = names(data.__schema.mutationType);
    const subscription = names(data.__schema.subscriptionType);
    const conversation = names(data.conversation);
    const send = (data.__schema.mutationType.fields || []).find((field) => field.name === "sendMessage");
    const sendArgs = new Set(send ? send.args.map((arg) => arg.name) : []);
    return {
      live: subscription.has("inboxEvents") && query.has("inboxEventCursor"),
      replyWindow: conversation.has("canReply") && conversation.has("replyWindowEndsAt"),
      send: mutation.has("sendMessage"),
      linking:
        conversation.has("linkedPerson") &&
        mutation.has("linkConversation") &&
        mutation.has("unlinkConversation") &&
        query.has("persons") &&
        query.has("leads") &&
        query.has("deals"),
      notifications:
        query.has("notifications") && query.has("notificationSettings") && mutation.has("updateNotificationSettings"),
      notificationStream: subscription.has("notifications"),
      markRead: mutation.has("markNotificationsRead"),
      comments: mutation.has("addComment"),
      labels: query.has("labels") && mutation.has("setConversationLabels") && conversation.has("labels"),
      canned: query.has("cannedReplies") && mutation.has("renderCannedReply"),
      templates: mutation.has("sendTemplate") && mutation.has("startConversation"),
      admin: mutation.has("updateUser") && mutation.has("deactivateUser") && mutation.has("reactivateUser"),
      files: mutation.has("uploadFile"),
      search: query.has("searchConversations"),
      presence: mutation.has("setPresence") && subscription.has("conversationPresence"),
      staleGuard: sendArgs.has("expectedLastMessageId"),
    };
  }
}

const UPLOAD = "mutation($file: Upload!) { uploadFile(file: $file) { id filename } }";

const FEATURES = `{
  __schema {
    queryType { fields { name } }
    mutationType { fields { name args { name } } }
    subscriptionType { fields { name } }
  }
  conversation: __type(name: "Conversation") { fields { name } }
}`;

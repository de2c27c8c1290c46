// The Team page (admins, R-ADMIN): the account's users with their role and status; invite someone
// (createUser, whose token is shown once), change a role, deactivate and reactivate; and each
// app's routing (R-ROUTE: manual, round robin or balanced, with a cap per person). The server
// decides: a refusal (the last active admin, a duplicate email, a bad cap) is shown as it says.

import { h, replace } from "./dom.js";

const USER = "id name email role status available";
const APP = "id name assignmentPolicy { mode maxOpenPerUser }";
const LOAD = `{ users { ${USER} } messagingApps { ${APP} } }`;
const SET_POLICY = `mutation SetRouting($app: ID!, $mode: AssignmentMode!, $cap: Int) {
  setAssignmentPolicy(appId: $app, mode: $mode, maxOpenPerUser: $cap) { ${APP} }
}`;
const MODES = [
  ["MANUAL", "Manual: nobody is assigned automatically"],
  ["ROUND_ROBIN", "Round robin: available people take turns"],
  ["BALANCED", "Balanced: whoever has the fewest open"],
];
const INVITE = `mutation Invite($name: String!, $email: String!, $role: Role) {
  createUser(name: $name, email: $email, role: $role) { user { ${USER} } token }
}`;
const SET_ROLE = `mutation SetRole($id: ID!, $role: Role!) { updateUser(id: $id, role: $role) { ${USER} } }`;
const DEACTIVATE = `mutation Deactivate($id: ID!) { deactivateUser(id: $id) { ${USER} } }`;
const REACTIVATE = `mutation Reactivate($id: ID!) { reactivateUser(id: $id) { ${USER} } }`;

const ROLES = [
  ["MEMBER", "Member"],
  ["ADMIN", "Admin"],
];

export class TeamPage {
  constructor({ api, viewer, root, toast }) {
    this.api = api;
    this.viewer = viewer;
    this.root = root;
    this.toast = toast;
    this.users = [];
    this.apps = [];
    this.confirming = null; // the id of the user whose deactivation waits for a second click
    this.created = null; // { name, token } of the last invitation, shown once
  }

  async load() {
    try {
      const data = await this.api.request(LOAD);
      this.users = data.users;
      this.apps = data.messagingApps;
    } catch (error) {
      this.toast(error.message, true);
    }
    this.render();
  }

  async run(query, variables, done) {
    try {
      const data = await this.api.request(query, variables);
      if (done) done(data);
    } catch (error) {
      this.toast(error.message, true);
    }
    this.confirming = null;
    await this.load();
  }

  render() {
    const active = this.users.filter((user) => user.status === "ACTIVE").length;
    replace(
      this.root,
      h(
        "div",
        { class: "team-head" },
        h("h1", { id: "team-title", tabindex: "-1" }, "Team"),
        h("span", { class: "hint" }, `${active} active of ${this.users.length}`)
      ),
      this.inviteForm(),
      this.created && this.createdNotice(),
      h(
        "table",
        { class: "team-table", "aria-labelledby": "team-title" },
        h("thead", {}, h("tr", {}, ["Name", "Email", "Role", "Status", ""].map((title) => h("th", { scope: "col" }, title)))),
        h("tbody", {}, this.users.map((user) => this.row(user)))
      ),
      this.routing()
    );
  }

  routing() {
    return h(
      "section",
      { class: "routing", "aria-labelledby": "routing-title" },
      h("h2", { id: "routing-title" }, "Routing"),
      h("p", { class: "hint" }, "How each app's new and reopened unassigned conversations are assigned."),
      this.apps.map((app) => this.routingForm(app))
    );
  }

  routingForm(app) {
    const policy = app.assignmentPolicy;
    const modeId = `routing-mode-${app.id}`;
    const capId = `routing-cap-${app.id}`;
    const form = h(
      "form",
      { class: "invite", "aria-label": `Routing of ${app.name}`, dataset: { id: app.id, mode: policy.mode } },
      h("strong", {}, app.name),
      h("label", { for: modeId }, "Mode"),
      h("select", { id: modeId, name: "mode" }, MODES.map(([value, label]) => h("option", { value, selected: value === policy.mode }, label))),
      h("label", { for: capId }, "At most open per person"),
      h("input", {
        id: capId,
        name: "cap",
        type: "number",
        min: "1",
        max: "10000",
        placeholder: "no cap",
        value: policy.maxOpenPerUser === null ? "" : String(policy.maxOpenPerUser),
      }),
      h("button", { type: "submit", class: "primary" }, "Save")
    );
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const fields = new FormData(form);
      const cap = fields.get("cap");
      const variables = { app: app.id, mode: fields.get("mode"), cap: cap === "" ? null : Number(cap) };
      this.run(SET_POLICY, variables, () => this.toast(`Routing of ${app.name} saved.`));
    });
    return form;
  }

  row(user) {
    const me = user.id === this.viewer.id;
    const deactivated = user.status === "DEACTIVATED";
    const roleId = `role-${user.id}`;
    return h(
      "tr",
      { dataset: { id: user.id, status: user.status }, class: deactivated ? "deactivated" : "" },
      h("th", { scope: "row" }, user.name, me ? h("span", { class: "hint" }, " (you)") : ""),
      h("td", {}, user.email),
      h(
        "td",
        {},
        h("label", { for: roleId, class: "visually-hidden" }, `Role of ${user.name}`),
        h(
          "select",
          {
            id: roleId,
            onChange: (event) => this.run(SET_ROLE, { id: user.id, role: event.target.value }, () =>
              this.toast(`${user.name} is now ${event.target.value === "ADMIN" ? "an admin" : "a member"}.`)
            ),
          },
          ROLES.map(([value, label]) => h("option", { value, selected: value === user.role }, label))
        )
      ),
      h("td", {}, h("span", { class: `status ${deactivated ? "off" : "on"}` }, deactivated ? "Deactivated" : "Active")),
      h("td", {}, h("div", { class: "actions" }, this.actions(user)))
    );
  }

  actions(user) {
    if (user.status === "DEACTIVATED") {
      return h(
        "button",
        {
          type: "button",
          "aria-label": `Reactivate ${user.name}`,
          onClick: () => this.run(REACTIVATE, { id: user.id }, () => this.toast(`${user.name} is active again.`)),
        },
        "Reactivate"
      );
    }
    if (this.confirming === user.id) {
      return [
        h("span", {}, "Sign them out and unassign their open conversations? "),
        h(
          "button",
          {
            type: "button",
            class: "danger",
            "aria-label": `Confirm deactivating ${user.name}`,
            onClick: () => this.run(DEACTIVATE, { id: user.id }, () => this.toast(`${user.name} is deactivated.`)),
          },
          "Deactivate"
        ),
        h("button", { type: "button", onClick: () => ((this.confirming = null), this.render()) }, "Cancel"),
      ];
    }
    return h(
      "button",
      {
        type: "button",
        class: "danger",
        "aria-label": `Deactivate ${user.name}`,
        onClick: () => ((this.confirming = user.id), this.render()),
      },
      "Deactivate"
    );
  }

  inviteForm() {
    const form = h(
      "form",
      { class: "invite", "aria-label": "Invite someone" },
      h("label", { for: "invite-name" }, "Name"),
      h("input", { id: "invite-name", name: "name", required: true, maxlength: "200", autocomplete: "off" }),
      h("label", { for: "invite-email" }, "Email"),
      h("input", { id: "invite-email", name: "email", type: "email", required: true, autocomplete: "off" }),
      h("label", { for: "invite-role" }, "Role"),
      h("select", { id: "invite-role", name: "role" }, ROLES.map(([value, label]) => h("option", { value }, label))),
      h("button", { type: "submit", class: "primary" }, "Invite")
    );
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const fields = new FormData(form);
      this.run(INVITE, { name: fields.get("name"), email: fields.get("email"), role: fields.get("role") }, (data) => {
        this.created = { name: data.createUser.user.name, token: data.createUser.token };
      });
    });
    return form;
  }

  createdNotice() {
    const { name, token } = this.created;
    return h(
      "div",
      { class: "created", role: "status" },
      h("p", {}, `${name} is invited. Give them this token, shown only once:`),
      h("input", { readOnly: true, value: token, "aria-label": `Token of ${name}`, spellcheck: "false" }),
      h("button", { type: "button", class: "link-button", onClick: () => ((this.created = null), this.render()) }, "Done")
    );
  }
}

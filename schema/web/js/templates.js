// WhatsApp templates (R-TEMPLATE): choosing an approved one and filling its placeholders, to write
// when the reply window is closed and to start a conversation from a person.

import { h } from "./dom.js";

export const TEMPLATE_FIELDS = "id name language body variables";
const PLACEHOLDER = /\{\{\s*([A-Za-z0-9_]+)\s*\}\}/g;

// A template <select>, a labelled field per placeholder of the chosen one, and a live preview of
// the text the customer will read. `prefix` keeps ids unique on the page.
export function templateFields(templates, prefix) {
  const inputs = new Map();
  const select = h(
    "select",
    { id: `${prefix}-template`, name: "templateId", required: true },
    h("option", { value: "" }, templates.length ? "Choose an approved template…" : "No approved template"),
    templates.map((t) => h("option", { value: t.id }, `${t.name} (${t.language})`))
  );
  const variables = h("div", { class: "template-variables" });
  const preview = h("p", { class: "template-preview", id: `${prefix}-preview`, "aria-live": "polite" });
  const chosen = () => templates.find((t) => t.id === select.value);
  const update = () => {
    const template = chosen();
    preview.textContent = template
      ? template.body.replace(PLACEHOLDER, (match, key) => (inputs.get(key) && inputs.get(key).value.trim()) || match)
      : "";
  };
  select.addEventListener("change", () => {
    inputs.clear();
    const template = chosen();
    variables.replaceChildren(
      ...(template ? template.variables : []).map((key) => {
        const input = h("input", { id: `${prefix}-var-${key}`, name: key, required: true, maxlength: 1024, autocomplete: "off", onInput: update });
        inputs.set(key, input);
        return h("div", { class: "field" }, h("label", { for: input.id }, `Value for {{${key}}}`), input);
      })
    );
    update();
  });
  return {
    elements: [h("label", { for: select.id }, "Template"), select, variables, preview],
    templateId: () => select.value,
    variables: () => [...inputs].map(([key, input]) => ({ key, value: input.value.trim() })),
  };
}

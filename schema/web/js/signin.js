// Signing in with an email and a password, "forgot password", and the page of an emailed link
// (an invitation or a reset) that sets a password (R-SIGNIN). The `#token=` sign-in stays in main.js.

import { Api, ApiError } from "./api.js";
import { replace } from "./dom.js";

const SIGN_IN = "mutation($e: String!, $p: String!) { signIn(email: $e, password: $p) { token } }";
const REQUEST_RESET = "mutation($e: String!) { requestPasswordReset(email: $e) }";
const RESET = "mutation($c: String!, $p: String!) { resetPassword(code: $c, newPassword: $p) { token } }";

const $ = (selector) => document.querySelector(selector);

// An `#invite=` or `#reset=` link, taken out of the address bar (the code is a secret: it must
// not stay in the history or be shared by copying the address).
export function linkFromLocation() {
  const match = location.hash.match(/^#(invite|reset)=([^&]+)/);
  if (!match) return null;
  history.replaceState(history.state, "", location.pathname + location.search);
  return { purpose: match[1], code: decodeURIComponent(match[2]) };
}

function rateLimitMessage(error) {
  const wait = Number(error.extensions.retryAfter) || 60;
  const minutes = Math.ceil(wait / 60);
  return `Too many failed attempts. Try again in ${minutes} minute${minutes === 1 ? "" : "s"}.`;
}

// Returns a session token, or throws an ApiError whose message is for the person.
export async function signInWithPassword(email, password) {
  try {
    return (await new Api(null).request(SIGN_IN, { e: email, p: password })).signIn.token;
  } catch (error) {
    if (error instanceof ApiError && error.code === "UNAUTHENTICATED") {
      throw new ApiError("Wrong email or password.", error.code);
    }
    if (error instanceof ApiError && error.code === "RATE_LIMITED") {
      throw new ApiError(rateLimitMessage(error), error.code, error.extensions);
    }
    throw error;
  }
}

function show(id) {
  for (const form of ["#signin-form", "#forgot-form", "#password-form"]) $(form).hidden = form !== id;
}

export function showSignInForm() {
  show("#signin-form");
  $("#email").focus();
}

export function showForgot() {
  show("#forgot-form");
  $("#forgot-email").value = $("#email").value;
  replace($("#forgot-done"));
  $("#forgot-email").focus();
}

// The page of an emailed link: choose a password, then `onSignedIn(token)`.
export function showPasswordPage(link, onSignedIn) {
  $("#app").hidden = true;
  $("#signin").hidden = false;
  show("#password-form");
  $("#password-title").textContent = link.purpose === "invite" ? "Welcome to Switchboard" : "Choose a new password";
  $("#password-intro").textContent =
    link.purpose === "invite"
      ? "Choose the password you will sign in with."
      : "Choose a new password. Your other sessions will be signed out.";
  replace($("#password-error"));
  $("#password-form").onsubmit = async (event) => {
    event.preventDefault();
    const password = $("#new-password").value;
    if (password.length < 10) return replace($("#password-error"), "The password must have at least 10 characters.");
    if (password !== $("#repeat-password").value) return replace($("#password-error"), "The two passwords differ.");
    try {
      const data = await new Api(null).request(RESET, { c: link.code, p: password });
      $("#new-password").value = $("#repeat-password").value = "";
      onSignedIn(data.resetPassword.token);
    } catch (error) {
      const expired = error instanceof ApiError && error.extensions.field === "code";
      replace($("#password-error"), expired ? "This link has expired or was already used. Ask for a new one." : error.message);
    }
  };
  $("#new-password").focus();
}

export function wireForgot() {
  $("#forgot").addEventListener("click", showForgot);
  $("#forgot-back").addEventListener("click", showSignInForm);
  $("#password-back").addEventListener("click", showSignInForm);
  $("#forgot-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const email = $("#forgot-email").value.trim();
    if (!email) return;
    try {
      await new Api(null).request(REQUEST_RESET, { e: email });
      replace($("#forgot-done"), `If ${email} has an account, a link is on its way. It works for an hour.`);
    } catch (error) {
      replace($("#forgot-done"), error.message);
    }
  });
}

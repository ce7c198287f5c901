// The playground page: a small chat client. The server renders every message as HTML
// (people's text escaped there); this script places messages, sends what you type, and
// follows the live stream (server-sent events) so the bot's progress and replies appear.
"use strict";

const API = "/playground/api";
const state = JSON.parse(document.getElementById("state").textContent);
const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
const $ = (selector, root = document) => root.querySelector(selector);

const ui = {
  me: $("#me"),
  channels: $("#channels"),
  people: $("#people"),
  name: $("#channel-name"),
  topic: $("#channel-topic"),
  live: $("#live"),
  list: $("#messages"),
  thread: $("#thread"),
  threadList: $("#thread-messages"),
  composer: $("#composer"),
  threadComposer: $("#thread-composer"),
};

let me = null; // who you are: a person's id
let channel = null; // the channel shown
let thread = null; // the open thread's root id
let messages = new Map(); // id -> {id, channel, thread, author, kind, deleted, ephemeral, html}
let stream = null;
let lastEvent = 0;

// --- talking to the server -------------------------------------------------------------

async function api(path, { method = "GET", json, body } = {}) {
  const headers = {};
  if (method !== "GET") headers["X-Playground"] = "1";
  if (json !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(json);
  }
  const response = await fetch(path, { method, headers, body });
  const answer = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(answer.message || `The server answered ${response.status}.`);
  return answer;
}

function connect() {
  if (stream) stream.close();
  const query = new URLSearchParams({ user: me, after: String(lastEvent) });
  stream = new EventSource(`${API}/events?${query}`);
  stream.onopen = () => setLive(true);
  stream.onerror = () => setLive(false); // the browser reconnects by itself
  stream.onmessage = (event) => {
    lastEvent = Number(event.lastEventId) || lastEvent;
    const change = JSON.parse(event.data);
    if (change.type === "message") upsert(change.message);
    else if (change.type === "gone") drop(change.id);
    else if (change.type === "directory") refreshDirectory();
  };
}

function setLive(on) {
  ui.live.textContent = on ? "live" : "reconnecting…";
  ui.live.classList.toggle("on", on);
}

// --- people and channels ---------------------------------------------------------------

function person(id) {
  return state.users.find((user) => user.id === id);
}

function renderDirectory() {
  ui.me.replaceChildren(...state.users.map((user) => new Option(user.name, user.id)));
  ui.me.value = me;
  ui.channels.replaceChildren(
    ...state.channels.map((c) => {
      const item = document.createElement("li");
      const link = document.createElement("a");
      link.href = `?channel=${encodeURIComponent(c.id)}`;
      link.dataset.channel = c.id;
      link.textContent = `# ${c.id}`;
      if (c.id === channel) link.setAttribute("aria-current", "page");
      item.append(link);
      return item;
    }),
  );
  ui.people.replaceChildren(
    ...state.users.map((user) => {
      const item = document.createElement("li");
      const dot = document.createElement("span");
      dot.className = `dot c${user.color}`;
      item.append(dot, user.name + (user.id === me ? " (you)" : ""));
      return item;
    }),
  );
  for (const form of [ui.composer, ui.threadComposer]) {
    const who = $(".who", form);
    if (who) who.textContent = person(me)?.name || me;
  }
}

async function refreshDirectory() {
  Object.assign(state, await api(`${API}/state`));
  renderDirectory();
}

async function addTo(path, input) {
  const name = input.value.trim();
  if (!name) return null;
  try {
    const created = await api(path, { method: "POST", json: { name } });
    input.value = "";
    await refreshDirectory();
    return created;
  } catch (error) {
    input.setCustomValidity(error.message);
    input.reportValidity();
    input.addEventListener("input", () => input.setCustomValidity(""), { once: true });
    return null;
  }
}

function becomeSomeoneElse(id) {
  me = id;
  localStorage.setItem("balafon.me", me);
  renderDirectory();
  openChannel(channel, { reconnect: true }); // ephemeral messages differ per person
}

// --- messages --------------------------------------------------------------------------

function build(message, prefix) {
  const template = document.createElement("template");
  template.innerHTML = message.html.trim();
  const element = template.content.firstElementChild;
  element.id = prefix + message.id;
  for (const time of element.querySelectorAll("time[datetime]")) {
    if (time.dateTime.length <= 10) continue; // a due date: shown as the server wrote it
    const at = new Date(time.dateTime);
    time.textContent = at.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
    time.title = at.toLocaleString();
  }
  for (const media of element.querySelectorAll("audio, video")) {
    if (unplayable.has(media.getAttribute("src"))) {
      media.closest(".file")?.classList.add("unplayable");
      media.remove();
    }
  }
  for (const select of element.querySelectorAll("select[data-speaker]")) {
    // The transcript's speaker menus: anyone of the playground can be picked.
    const current = select.dataset.current;
    select.append(...state.users.map((user) => new Option(user.name, user.id)));
    if (current && person(current)) select.value = current;
    select.dataset.thread = message.thread || message.id;
  }
  for (const select of element.querySelectorAll("select[data-reassign]")) {
    // An action item's owner: anyone of the playground.
    const current = select.dataset.current;
    select.append(...state.users.map((user) => new Option(user.name, user.id)));
    if (current && person(current)) select.value = current;
  }
  const tools = document.createElement("div");
  tools.className = "tools";
  if (prefix === "m" && !message.thread) tools.append(button("Reply", { open: message.id }));
  if (message.author === me && !message.deleted && message.kind !== "bot") {
    if (message.kind === "message") tools.append(button("Edit", { edit: message.id }));
    tools.append(button("Delete", { delete: message.id }));
  }
  if (tools.childElementCount) element.append(tools);
  if (prefix === "m" && !message.thread) showReplies(element, message.id);
  return element;
}

function showReplies(element, root) {
  const count = replies(root);
  let link = element.querySelector(".replies");
  if (!count) return link?.remove();
  if (!link) {
    link = button("", { open: root }, "replies");
    element.querySelector(".body").append(link);
  }
  link.textContent = plural(count);
}

function button(label, data, className = "") {
  const element = document.createElement("button");
  element.type = "button";
  element.textContent = label;
  if (className) element.className = className;
  Object.assign(element.dataset, data);
  return element;
}

function plural(count) {
  return count === 1 ? "1 reply" : `${count} replies`;
}

function replies(root) {
  let count = 0;
  for (const message of messages.values()) if (message.thread === root && !message.ephemeral) count += 1;
  return count;
}

function place(list, message, prefix) {
  const element = build(message, prefix);
  const existing = document.getElementById(prefix + message.id);
  if (existing) return existing.replaceWith(element);
  const stick = list.scrollHeight - list.scrollTop - list.clientHeight < 80;
  const later = [...list.children].find((child) => Number(child.dataset.id) > message.id);
  list.insertBefore(element, later || null);
  if (stick || message.author === me) list.scrollTop = list.scrollHeight;
}

function upsert(message) {
  if (message.channel !== channel) {
    const link = ui.channels.querySelector(`[data-channel="${CSS.escape(message.channel)}"]`);
    link?.classList.add("unread");
    return;
  }
  const isNew = !messages.has(message.id);
  messages.set(message.id, message);
  if (!message.thread) place(ui.list, message, "m");
  else if (isNew) {
    const root = document.getElementById(`m${message.thread}`);
    if (root) showReplies(root, message.thread);
  }
  if (thread && (message.id === thread || message.thread === thread)) place(ui.threadList, message, "t");
}

function drop(id) {
  // A withdrawn message (the bot's "working on it", once its answer is posted).
  messages.delete(id);
  for (const prefix of ["m", "t"]) document.getElementById(prefix + id)?.remove();
}

async function openChannel(id, { message = null, reconnect = false } = {}) {
  const switching = id !== channel;
  channel = id;
  localStorage.setItem("balafon.channel", id);
  history.replaceState(null, "", `?channel=${encodeURIComponent(id)}`);
  const info = state.channels.find((c) => c.id === id);
  ui.name.textContent = `#${id}`;
  ui.topic.textContent = info?.topic || "";
  $("textarea", ui.composer).placeholder = `Message #${id}`;
  renderDirectory();
  if (switching) closeThread();
  const answer = await api(`${API}/channels/${encodeURIComponent(id)}/messages?user=${encodeURIComponent(me)}`);
  messages = new Map(answer.messages.map((m) => [m.id, m]));
  ui.list.replaceChildren(...answer.messages.filter((m) => !m.thread).map((m) => build(m, "m")));
  ui.list.scrollTop = ui.list.scrollHeight;
  if (thread) openThread(thread);
  if (!stream || reconnect) {
    lastEvent = answer.last_event;
    connect();
  }
  if (message) goTo(Number(message));
}

function openThread(root) {
  thread = root;
  ui.thread.hidden = false;
  document.body.classList.add("in-thread");
  const inThread = [...messages.values()].filter((m) => m.id === root || m.thread === root);
  ui.threadList.replaceChildren(...inThread.map((m) => build(m, "t")));
  ui.threadList.scrollTop = ui.threadList.scrollHeight;
  $("textarea", ui.threadComposer).focus();
}

function closeThread() {
  thread = null;
  ui.thread.hidden = true;
  document.body.classList.remove("in-thread");
  ui.threadList.replaceChildren();
}

function goTo(id) {
  const message = messages.get(id);
  if (!message) return;
  if (message.thread) openThread(message.thread);
  const element = document.getElementById((message.thread ? "t" : "m") + id);
  element?.scrollIntoView({ block: "center" });
  element?.classList.add("flash");
  setTimeout(() => element?.classList.remove("flash"), 1600);
}

// --- writing ---------------------------------------------------------------------------

function megabytes(size) {
  if (size <= 0) return "empty";
  if (size < 1048576) return `${Math.max(1, Math.round(size / 1024))} KB`;
  return `${(size / 1048576).toFixed(size < 10485760 ? 1 : 0)} MB`;
}

class Cancelled extends Error {}

function randomKey() {
  const bytes = crypto.getRandomValues(new Uint8Array(16)); // also outside secure contexts
  return [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
}

function showSending(form, file, fraction) {
  const box = $(".sending", form);
  box.hidden = fraction === null;
  if (fraction === null) return;
  const percent = Math.floor(fraction * 100);
  // All of it sent: the server is storing it (and answers with the message).
  $(".label", box).textContent = percent < 100 ? `Sending “${file.name}”…` : `“${file.name}” sent, saving…`;
  $("progress", box).value = percent;
  $(".percent", box).textContent = `${percent}%`;
}

// An upload with its progress (fetch cannot report it) and a cancel button.
function upload(form, file, data) {
  return new Promise((resolve, reject) => {
    const request = new XMLHttpRequest();
    request.open("POST", `${API}/uploads`);
    request.setRequestHeader("X-Playground", "1");
    request.responseType = "json";
    request.upload.onprogress = (event) => {
      if (event.lengthComputable) showSending(form, file, event.loaded / event.total);
    };
    request.onload = () => {
      const answer = request.response || {};
      if (request.status >= 200 && request.status < 300) resolve(answer);
      else reject(new Error(answer.message || `The server answered ${request.status}.`));
    };
    request.onerror = () => reject(new Error("The upload did not reach the server. Is it still running?"));
    request.onabort = () => reject(new Cancelled());
    $(".cancel", form).onclick = () => request.abort();
    showSending(form, file, 0);
    request.send(data);
  });
}

function lock(form, on) {
  // A file on its way: Send is off, and Enter does nothing more until it is there.
  if (on) form.dataset.sending = "1";
  else delete form.dataset.sending;
  form.classList.toggle("busy", on);
  $(".send", form).disabled = on;
  form.elements.file.disabled = on; // the attachment on its way stays the one shown
}

async function send(form) {
  if (form.dataset.sending) return; // Enter again mid-upload: nothing more is sent
  const box = form.elements.text;
  const text = box.value;
  const file = form.elements.file.files[0];
  if (!text.trim() && !file) return;
  const inThread = form === ui.threadComposer;
  const error = $(".error", form);
  error.hidden = true;
  if (file) lock(form, true);
  try {
    let answer;
    if (file) {
      if (file.size > state.max_upload_bytes) {
        throw new Error(`“${file.name}” is ${megabytes(file.size)}; the limit is ${megabytes(state.max_upload_bytes)}.`);
      }
      const data = new FormData();
      // The same attachment sent twice (a retry) is shared once: the server knows its key.
      form.uploadKey ||= randomKey();
      const fields = { channel, user: me, text, timezone: zone, upload: form.uploadKey };
      for (const [key, value] of Object.entries(fields)) data.append(key, value);
      if (inThread) data.append("thread", thread);
      data.append("file", file);
      answer = await upload(form, file, data);
    } else {
      const json = { channel, user: me, text, timezone: zone, thread: inThread ? thread : null };
      answer = await api(`${API}/messages`, { method: "POST", json });
    }
    if (box.value === text) box.value = ""; // what was typed meanwhile stays
    if (file) {
      form.elements.file.value = "";
      form.uploadKey = null;
      showAttachment(form);
    }
    resize(box);
    upsert(answer.message);
    if (answer.open_thread && thread !== answer.open_thread) openThread(answer.open_thread);
  } catch (failure) {
    if (!(failure instanceof Cancelled)) {
      error.textContent = failure.message;
      error.hidden = false;
    }
  } finally {
    if (file) {
      showSending(form, null, null);
      lock(form, false);
    }
  }
}

function showAttachment(form) {
  const file = form.elements.file.files[0];
  const box = $(".attachment", form);
  box.hidden = !file;
  $(".file-name", box).textContent = file ? `${file.name} · ${megabytes(file.size)}` : "";
}

function resize(textarea) {
  textarea.style.height = "auto";
  textarea.style.height = `${Math.min(textarea.scrollHeight, 200)}px`;
}

function startEditing(id) {
  const element = document.getElementById(`m${id}`) || document.getElementById(`t${id}`);
  const body = element?.querySelector(".text");
  if (!body) return;
  const editor = document.createElement("textarea");
  editor.className = "editor";
  editor.value = body.innerText;
  body.replaceWith(editor);
  editor.focus();
  editor.addEventListener("keydown", async (event) => {
    if (event.key === "Escape") upsert(messages.get(id));
    if (event.key !== "Enter" || event.shiftKey) return;
    event.preventDefault();
    try {
      upsert((await api(`${API}/messages/${id}`, { method: "PATCH", json: { user: me, text: editor.value } })).message);
    } catch (failure) {
      editor.setCustomValidity(failure.message);
      editor.reportValidity();
    }
  });
}

async function remove(id) {
  if (!confirm("Delete this message? Recaps will forget it too.")) return;
  upsert((await api(`${API}/messages/${id}?user=${encodeURIComponent(me)}`, { method: "DELETE" })).message);
}

// --- wiring ----------------------------------------------------------------------------

function wireComposer(form) {
  const textarea = form.elements.text;
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    send(form);
  });
  textarea.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      form.requestSubmit();
    }
  });
  textarea.addEventListener("input", () => resize(textarea));
  form.elements.file.addEventListener("change", () => {
    form.uploadKey = null; // another file: another share
    showAttachment(form);
  });
  $(".remove", form).addEventListener("click", () => {
    form.elements.file.value = "";
    form.uploadKey = null;
    showAttachment(form);
  });
}

document.addEventListener("click", (event) => {
  const target = event.target.closest("a, button");
  if (!target) return;
  const data = target.dataset;
  if (data.open) openThread(Number(data.open));
  else if (data.edit) startEditing(Number(data.edit));
  else if (data.delete) remove(Number(data.delete));
  else if (data.itemAction) itemAction(target, data.itemAction);
  else if (data.insert !== undefined) {
    const textarea = lastBox && !lastBox.closest("[hidden]") ? lastBox : ui.composer.elements.text;
    setMenu(false);
    textarea.value = data.insert + " ";
    textarea.focus();
    resize(textarea);
  } else if (target.matches("a[data-goto]")) {
    event.preventDefault();
    const link = new URL(target.href);
    const wanted = link.searchParams.get("channel");
    const message = link.searchParams.get("message");
    if (wanted === channel) goTo(Number(message));
    else openChannel(wanted, { message });
  } else if (data.channel) {
    event.preventDefault();
    target.classList.remove("unread");
    setMenu(false);
    openChannel(data.channel);
  }
});

// An action item's checkbox, menu or button: the server applies it and answers with the
// message re-rendered (other pages get it from the live stream); a refusal or a stale
// click is answered by a note only you see.
async function itemAction(control, action, owner = null) {
  const row = control.closest("[data-item]");
  const article = control.closest("article[data-id]");
  if (!row || !article) return;
  const json = {
    user: me,
    action,
    owner,
    version: row.dataset.version,
    message: Number(article.dataset.id),
    key: randomKey(),
  };
  row.querySelector(".item-error")?.remove();
  try {
    const answer = await api(`${API}/items/${row.dataset.item}/actions`, { method: "POST", json });
    if (answer.message) upsert(answer.message);
  } catch (failure) {
    const note = document.createElement("span");
    note.className = "item-error";
    note.textContent = failure.message;
    row.append(note);
    if (control.matches("input[type=checkbox]")) control.checked = !control.checked;
  }
}

document.addEventListener("change", (event) => {
  const box = event.target.closest("input[data-item-toggle]");
  if (box) return itemAction(box, box.checked ? "done" : "reopen");
  const menu = event.target.closest("select[data-reassign]");
  if (menu && menu.value) return itemAction(menu, "reassign", menu.value);
});

document.addEventListener("change", async (event) => {
  const select = event.target.closest("select[data-speaker]");
  if (!select || !select.value) return;
  // The same as typing the command in the transcript's thread.
  const text = `@balafon speaker ${select.dataset.speaker} is @${select.value}`;
  const json = { channel, user: me, text, timezone: zone, thread: Number(select.dataset.thread) };
  try {
    upsert((await api(`${API}/messages`, { method: "POST", json })).message);
  } catch (failure) {
    select.setCustomValidity(failure.message);
    select.reportValidity();
  }
});

// The box Try buttons type into: the composer you were last in (the thread's, in a thread).
let lastBox = null;
document.addEventListener("focusin", (event) => {
  if (event.target.matches(".composer textarea")) lastBox = event.target;
});

// Narrow screens: people, new channels and people, and tips live in a menu.
const menu = $("#menu");
const menuLabel = menu.textContent;
function setMenu(open) {
  menu.setAttribute("aria-expanded", String(open));
  menu.textContent = open ? "× Close" : menuLabel;
  $("#sidebar").classList.toggle("open", open);
}
menu.addEventListener("click", () => setMenu(menu.getAttribute("aria-expanded") !== "true"));
document.addEventListener("keydown", (event) => {
  if (event.key === "Escape") setMenu(false);
});

// A recording the browser cannot play (damaged, or not media at all): no dead player;
// the bot's answer in the thread says what went wrong.
const unplayable = new Set();
function dropPlayer(media) {
  unplayable.add(media.getAttribute("src"));
  media.closest(".file")?.classList.add("unplayable");
  media.remove();
}
document.addEventListener("error", (event) => {
  if (event.target instanceof HTMLMediaElement) dropPlayer(event.target);
}, true);
document.addEventListener("loadedmetadata", (event) => {
  if (event.target instanceof HTMLMediaElement && event.target.duration === 0) dropPlayer(event.target);
}, true);

$("#close-thread").addEventListener("click", closeThread);
ui.me.addEventListener("change", () => becomeSomeoneElse(ui.me.value));
$("#add-channel").addEventListener("submit", async (event) => {
  event.preventDefault();
  const created = await addTo(`${API}/channels`, event.target.elements.name);
  if (created) {
    setMenu(false);
    openChannel(created.id);
  }
});
$("#add-person").addEventListener("submit", async (event) => {
  event.preventDefault();
  const created = await addTo(`${API}/users`, event.target.elements.name);
  if (created) {
    setMenu(false);
    becomeSomeoneElse(created.id);
  }
});
wireComposer(ui.composer);
wireComposer(ui.threadComposer);

const params = new URLSearchParams(location.search);
const known = (id) => state.channels.some((c) => c.id === id);
me = [localStorage.getItem("balafon.me")].find((id) => person(id)) || state.users[0]?.id;
channel = [params.get("channel"), localStorage.getItem("balafon.channel")].find(known) || state.channels[0]?.id;
renderDirectory();
if (channel) openChannel(channel, { message: params.get("message") });

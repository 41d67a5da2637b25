/* csbot agent console: a thin client of the /ws/agent/ socket (see handoff/consumers.py).
 * No build step. Every string from the server is inserted with textContent, never as HTML. */
(function () {
  "use strict";

  // Django's JavaScript catalogue (/jsi18n/) provides gettext/interpolate; without it, Chinese.
  var gettext = window.gettext || function (text) { return text; };
  var interpolate = window.interpolate || function (fmt, obj) { return fmt.replace(/%\((\w+)\)s/g, function (_, k) { return String(obj[k]); }); };

  var config = JSON.parse(document.getElementById("hc-config").textContent);
  var $ = function (id) { return document.getElementById(id); };
  var baseTitle = document.title;
  var state = {
    me: null, queue: [], chats: [], agents: [], canned: [],
    current: null, transcript: null, seen: {}, unreadLocal: {}, typingTimer: null, lastTypingSent: 0,
  };
  var socket = null, retry = 0, tickTimer = null, audio = null;

  // ---------------------------------------------------------------- socket

  function connect() {
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    socket = new WebSocket(scheme + location.host + config.socketPath);
    socket.onopen = function () {
      retry = 0;
      setConn(true);
      if (state.current) send({ type: "watch", conversation_id: state.current });
      clearInterval(tickTimer);
      tickTimer = setInterval(function () { send({ type: "tick" }); }, 20000);
    };
    socket.onmessage = function (event) {
      var frame;
      try { frame = JSON.parse(event.data); } catch (e) { return; }
      var handler = handlers[frame.type];
      if (handler) handler(frame);
    };
    socket.onclose = function (event) {
      setConn(false);
      clearInterval(tickTimer);
      if (event.code === 4403) { showError(gettext("没有坐席权限，或登录已过期，请重新登录后台。")); return; }
      retry = Math.min(retry + 1, 6);
      setTimeout(connect, 500 * Math.pow(2, retry));
    };
  }

  function send(frame) {
    if (socket && socket.readyState === WebSocket.OPEN) { socket.send(JSON.stringify(frame)); return true; }
    showError(gettext("连接已断开，正在重连…"));
    return false;
  }

  function setConn(on) {
    var el = $("hc-conn");
    el.textContent = on ? gettext("已连接") : gettext("连接中断，重连中…");
    el.className = "hc-conn " + (on ? "hc-conn-on" : "hc-conn-off");
  }

  // ---------------------------------------------------------------- frames

  var handlers = {
    hello: function (f) {
      state.me = f.user; state.queue = f.queue; state.chats = f.chats; state.canned = f.canned; state.agents = f.agents;
      $("hc-me").textContent = f.user.display_name + (f.user.role === "manager" ? gettext("（主管）") : "") + " · " + interpolate(gettext("最多同时接待 %(n)s"), { n: f.user.capacity }, true);
      renderPresence(f.user.presence);
      state.allChats = f.all_chats || null;
      renderLeft(f.left_new);
      renderQueue(); renderChats(); renderAgents(); renderAllChats(); updateTitle();
    },
    all_chats: function (f) { state.allChats = f.chats; renderAllChats(); },
    presence: function (f) { renderPresence(f.presence); },
    queue: function (f) {
      state.queue = f.queue; renderQueue(); updateTitle();
      if (f.left_new !== undefined) renderLeft(f.left_new);
      if (f.alert) alertNew(gettext("新的排队会话"));
    },
    chats: function (f) {
      state.chats = f.chats; state.agents = f.agents || state.agents;
      renderChats(); renderAgents(); updateTitle();
      if (f.alert) alertNew(gettext("有会话分配给您，请尽快接入"));
      if (state.current) send({ type: "watch", conversation_id: state.current });
    },
    transcript: function (f) {
      if (f.conversation_id !== state.current) return;
      state.transcript = f; state.seen = {};
      $("hc-transcript").textContent = "";
      f.messages.forEach(appendMessage);
      renderChatHead();
      markRead();
    },
    message: function (f) {
      var m = f.message;
      if (f.conversation_id === state.current && state.transcript) {
        appendMessage(m);
        if (m.sender === "visitor") { markRead(); requestSuggestions(); $("hc-typing").hidden = true; }
      } else if (m.sender === "visitor") {
        state.unreadLocal[f.conversation_id] = (state.unreadLocal[f.conversation_id] || 0) + 1;
        renderChats(); updateTitle(); beep();
      }
    },
    typing: function (f) {
      if (f.conversation_id !== state.current) return;
      var el = $("hc-typing");
      el.hidden = !f.active;
      clearTimeout(state.typingTimer);
      state.typingTimer = setTimeout(function () { el.hidden = true; }, 4000);
    },
    suggestions: function (f) { if (f.conversation_id === state.current) renderSuggestions(f.results); },
    ok: function (f) {
      hideError();
      if (f.action === "send" || f.action === "note") return;
      if (f.action === "close" || f.action === "return_to_bot" || f.action === "transfer" || f.action === "accept") {
        if (state.current === f.conversation_id) send({ type: "watch", conversation_id: state.current });
      }
    },
    conversation_status: function (f) { if (f.conversation_id === state.current) send({ type: "watch", conversation_id: state.current }); },
    error: function (f) { showError(f.detail || f.code); },
  };

  // ---------------------------------------------------------------- rendering

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  function renderPresence(value) {
    var select = $("hc-presence");
    if (!select.options.length) {
      config.presences.forEach(function (p) { var o = el("option", "", p.label); o.value = p.value; select.appendChild(o); });
    }
    select.value = value;
    select.className = "hc-presence-" + value;
  }

  function fmtWait(seconds) {
    var m = Math.floor(seconds / 60), s = seconds % 60;
    return m >= 60 ? interpolate(gettext("%(h)s 小时 %(m)s 分"), { h: Math.floor(m / 60), m: m % 60 }, true) : m + ":" + (s < 10 ? "0" : "") + s;
  }

  function renderQueue() {
    var list = $("hc-queue");
    list.textContent = "";
    var now = Date.now();
    state.queue.forEach(function (item) {
      var li = el("li", "hc-item" + (item.conversation_id === state.current ? " hc-active" : "") + (item.assigned_to_id === (state.me && state.me.id) ? " hc-mine" : ""));
      li.dataset.conversation = item.conversation_id;
      var top = el("div", "hc-item-top");
      top.appendChild(el("strong", "", item.visitor));
      var wait = el("span", "hc-wait", "");
      wait.dataset.since = item.requested_at;
      wait.textContent = gettext("等待") + " " + fmtWait(Math.max(0, Math.round((now - Date.parse(item.requested_at)) / 1000)));
      top.appendChild(wait);
      li.appendChild(top);
      li.appendChild(el("div", "hc-reason", item.reason_label + (item.category ? " · " + item.category : "") + (item.detail ? " · " + item.detail : "")));
      if (item.preview) li.appendChild(el("div", "hc-preview", item.preview));
      if (item.assigned_to) li.appendChild(el("div", "hc-assigned", item.assigned_to_id === (state.me && state.me.id) ? gettext("已分配给您，请接入") : interpolate(gettext("已分配：%(name)s"), { name: item.assigned_to }, true)));
      var accept = el("button", "button default hc-accept-btn", gettext("接入"));
      accept.type = "button";
      accept.addEventListener("click", function (e) { e.stopPropagation(); open(item.conversation_id); send({ type: "accept", conversation_id: item.conversation_id }); });
      li.appendChild(accept);
      li.addEventListener("click", function () { open(item.conversation_id); });
      list.appendChild(li);
    });
    $("hc-queue-count").textContent = String(state.queue.length);
  }

  function renderChats() {
    var list = $("hc-chats");
    list.textContent = "";
    if (!state.chats.length) list.appendChild(el("li", "hc-none", gettext("暂无接待中的会话")));
    state.chats.forEach(function (chat) {
      var li = el("li", "hc-item" + (chat.conversation_id === state.current ? " hc-active" : ""));
      var top = el("div", "hc-item-top");
      top.appendChild(el("strong", "", chat.visitor));
      var unread = chat.conversation_id === state.current ? 0 : chat.unread + (state.unreadLocal[chat.conversation_id] || 0);
      if (unread) top.appendChild(el("span", "hc-badge hc-unread", String(unread)));
      li.appendChild(top);
      if (chat.preview) li.appendChild(el("div", "hc-preview", chat.preview));
      li.addEventListener("click", function () { open(chat.conversation_id); });
      list.appendChild(li);
    });
  }

  function renderLeft(count) {
    $("hc-left").href = config.leftMessagesUrl;
    $("hc-left-count").textContent = String(count || 0);
    $("hc-left-count").classList.toggle("hc-unread", Boolean(count));
  }

  function renderAllChats() {
    var list = $("hc-all-chats");
    if (!list || !state.allChats) return;
    list.textContent = "";
    if (!state.allChats.length) list.appendChild(el("li", "hc-none", gettext("暂无接待中的会话")));
    state.allChats.forEach(function (chat) {
      var li = el("li", "hc-item" + (chat.conversation_id === state.current ? " hc-active" : ""));
      var top = el("div", "hc-item-top");
      top.appendChild(el("strong", "", chat.visitor));
      top.appendChild(el("span", "hc-wait", chat.agent));
      li.appendChild(top);
      if (chat.preview) li.appendChild(el("div", "hc-preview", chat.preview));
      li.addEventListener("click", function () { open(chat.conversation_id); });
      list.appendChild(li);
    });
  }

  function renderAgents() {
    var select = $("hc-transfer-to");
    select.textContent = "";
    var queueOpt = el("option", "", gettext("转回队列（自动分配）"));
    queueOpt.value = "";
    select.appendChild(queueOpt);
    state.agents.forEach(function (a) {
      var o = el("option", "", a.display_name + " (" + (a.presence === "online" ? gettext("在线") : gettext("离开")) + " " + a.load + "/" + a.capacity + ")");
      o.value = String(a.user_id);
      select.appendChild(o);
    });
  }

  var SENDER = { visitor: gettext("访客"), bot: gettext("机器人"), agent: gettext("客服"), system: gettext("系统") };

  function appendMessage(m) {
    if (state.seen[m.seq]) return;
    state.seen[m.seq] = true;
    var li = el("li", "hc-msg hc-" + m.sender + (m.note ? " hc-note" : ""));
    var meta = el("div", "hc-meta");
    meta.appendChild(el("span", "", (m.note ? gettext("内部备注") + " · " : "") + (m.agent_name && m.sender === "agent" ? m.agent_name : SENDER[m.sender] || m.sender)));
    meta.appendChild(el("time", "", new Date(m.created_at).toLocaleTimeString()));
    if (m.sender === "bot" && (m.intent || m.confidence !== null)) {
      meta.appendChild(el("span", "hc-intent", (m.intent || "—") + (m.confidence !== null && m.confidence !== undefined ? " · " + Math.round(m.confidence * 100) + "%" : "") + " · " + m.kind));
    }
    if (m.entry) meta.appendChild(el("span", "hc-entry", interpolate(gettext("命中：%(question)s"), { question: m.entry.question }, true)));
    li.appendChild(meta);
    li.appendChild(el("div", "hc-text", m.text));
    // keep sequence order even if a frame overtakes another
    var list = $("hc-transcript");
    li.dataset.seq = m.seq;
    var after = null;
    for (var i = list.children.length - 1; i >= 0; i--) {
      if (Number(list.children[i].dataset.seq) < m.seq) { after = list.children[i]; break; }
    }
    if (after) after.insertAdjacentElement("afterend", li); else list.insertBefore(li, list.firstChild);
    list.scrollTop = list.scrollHeight;
    if (state.transcript) state.transcript.lastSeq = Math.max(state.transcript.lastSeq || 0, m.seq);
  }

  function renderChatHead() {
    var t = state.transcript;
    $("hc-empty").hidden = true;
    $("hc-chat-pane").hidden = false;
    $("hc-chat-title").textContent = t.visitor;
    var statusText = { bot: gettext("机器人接待"), queued: gettext("排队中"), with_agent: gettext("人工接待中"), closed: gettext("已结束") }[t.status] || t.status;
    var esc = t.escalation;
    $("hc-chat-status").textContent = statusText + (esc ? " · " + (config.reasons[esc.reason] || esc.reason) : "") + (t.mine ? "" : (esc && esc.status === "active" ? gettext("（旁观）") : ""));
    var active = esc && esc.status === "active" && t.mine;
    var waiting = esc && (esc.status === "queued" || esc.status === "assigned") && (!esc.agent_id || esc.agent_id === state.me.id || state.me.role === "manager");
    var manager = state.me.role === "manager";
    $("hc-accept").hidden = !waiting;
    $("hc-send").disabled = false;
    $("hc-input").disabled = false;
    $("hc-note-mode").checked = !active;
    $("hc-note-mode").disabled = !active;
    var canEnd = esc && esc.status === "active" && (t.mine || manager);
    ["hc-transfer", "hc-return", "hc-close", "hc-transfer-to"].forEach(function (id) { $(id).disabled = !canEnd; });
    renderQueue(); renderChats();
  }

  function renderSuggestions(results) {
    var list = $("hc-suggestions");
    list.textContent = "";
    if (!results.length) { list.appendChild(el("li", "hc-none", gettext("没有找到相关的知识库条目"))); return; }
    results.forEach(function (s) {
      var li = el("li", "hc-suggestion");
      li.appendChild(el("strong", "", s.question));
      li.appendChild(el("span", "hc-prob", Math.round(s.probability * 100) + "%"));
      li.appendChild(el("p", "", s.answer));
      var insert = el("button", "button", gettext("插入"));
      insert.type = "button";
      insert.addEventListener("click", function () { insertText(s.answer); });
      li.appendChild(insert);
      list.appendChild(li);
    });
  }

  // ---------------------------------------------------------------- actions

  function open(conversationId) {
    state.current = conversationId;
    state.transcript = null;
    delete state.unreadLocal[conversationId];
    $("hc-suggestions").textContent = "";
    send({ type: "watch", conversation_id: conversationId });
    requestSuggestions();
    renderQueue(); renderChats(); updateTitle();
  }

  function requestSuggestions() { if (state.current) send({ type: "suggest", conversation_id: state.current }); }

  function markRead() {
    var t = state.transcript;
    if (t && t.mine && t.lastSeq) send({ type: "read", conversation_id: t.conversation_id, seq: t.lastSeq });
    state.chats.forEach(function (c) { if (c.conversation_id === state.current) c.unread = 0; });
    updateTitle();
  }

  function uuid() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    return "c" + Date.now().toString(36) + Math.random().toString(36).slice(2);
  }

  function submit() {
    var input = $("hc-input");
    var text = input.value.trim();
    if (!text || !state.current) return;
    var note = $("hc-note-mode").checked;
    var ok = send(note ? { type: "note", conversation_id: state.current, text: text }
      : { type: "send", conversation_id: state.current, text: text, client_msg_id: uuid() });
    if (ok) { input.value = ""; hideCanned(); sendTyping(false); }
  }

  function insertText(text) {
    var input = $("hc-input");
    input.value = input.value && !input.value.startsWith("/") ? input.value + "\n" + text : text;
    input.focus();
    hideCanned();
  }

  function sendTyping(active) {
    var t = state.transcript;
    if (!t || !t.mine || !t.escalation || t.escalation.status !== "active" || $("hc-note-mode").checked) return;
    var now = Date.now();
    if (active && now - state.lastTypingSent < 2000) return;
    state.lastTypingSent = active ? now : 0;
    send({ type: "typing", conversation_id: t.conversation_id, active: active });
  }

  // canned responses: "/shortcut"
  function cannedMatches() {
    var value = $("hc-input").value;
    if (!value.startsWith("/")) return [];
    var q = value.slice(1).toLowerCase();
    return state.canned.filter(function (c) { return c.shortcut.toLowerCase().indexOf(q) === 0 || c.title.indexOf(q) >= 0; }).slice(0, 8);
  }

  function showCanned() {
    var matches = cannedMatches();
    var list = $("hc-canned");
    list.textContent = "";
    list.hidden = !matches.length;
    matches.forEach(function (c) {
      var li = el("li", "hc-canned-item");
      li.appendChild(el("code", "", "/" + c.shortcut));
      li.appendChild(el("span", "", " " + c.title + " — " + c.text.slice(0, 40)));
      li.addEventListener("mousedown", function (e) { e.preventDefault(); insertText(c.text); });
      list.appendChild(li);
    });
  }

  function hideCanned() { $("hc-canned").hidden = true; }

  // ---------------------------------------------------------------- attention: title badge + sound

  function updateTitle() {
    var unread = state.chats.reduce(function (n, c) { return n + (c.conversation_id === state.current ? 0 : c.unread + (state.unreadLocal[c.conversation_id] || 0)); }, 0);
    var waiting = state.queue.filter(function (q) { return q.status === "queued" || q.assigned_to_id === (state.me && state.me.id); }).length;
    var n = unread + waiting;
    document.title = n ? "(" + n + ") " + baseTitle : baseTitle;
  }

  function beep() {
    if (!audio) return;
    try {
      var osc = audio.createOscillator(), gain = audio.createGain();
      osc.type = "sine";
      osc.frequency.setValueAtTime(880, audio.currentTime);
      osc.frequency.setValueAtTime(660, audio.currentTime + 0.15);
      gain.gain.setValueAtTime(0.0001, audio.currentTime);
      gain.gain.exponentialRampToValueAtTime(0.3, audio.currentTime + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, audio.currentTime + 0.35);
      osc.connect(gain); gain.connect(audio.destination);
      osc.start(); osc.stop(audio.currentTime + 0.4);
    } catch (e) { /* sound is a nicety */ }
  }

  function alertNew(text) {
    beep();
    var badge = $("hc-queue-count");
    badge.classList.add("hc-flash");
    setTimeout(function () { badge.classList.remove("hc-flash"); }, 2000);
    if (document.hidden && window.Notification && Notification.permission === "granted") {
      try { new Notification(gettext("csbot 坐席工作台"), { body: text }); } catch (e) { /* ignore */ }
    }
  }

  function enableSound() {
    if (!audio && (window.AudioContext || window.webkitAudioContext)) {
      audio = new (window.AudioContext || window.webkitAudioContext)();
      $("hc-sound").textContent = gettext("提示音已开启");
      $("hc-sound").disabled = true;
      if (window.Notification && Notification.permission === "default") Notification.requestPermission();
    }
  }

  function showError(text) { var e = $("hc-error"); e.textContent = text; e.hidden = false; }
  function hideError() { $("hc-error").hidden = true; }

  // ---------------------------------------------------------------- wiring

  $("hc-presence").addEventListener("change", function (e) { send({ type: "presence", presence: e.target.value }); });
  $("hc-sound").addEventListener("click", enableSound);
  document.addEventListener("click", enableSound, { once: true });
  $("hc-send").addEventListener("click", submit);
  $("hc-accept").addEventListener("click", function () { send({ type: "accept", conversation_id: state.current }); });
  $("hc-transfer").addEventListener("click", function () {
    var to = $("hc-transfer-to").value;
    var note = window.prompt(gettext("转接说明（可选）："), "") ;
    if (note === null) return;
    send({ type: "transfer", conversation_id: state.current, to_user_id: to ? Number(to) : null, note: note });
  });
  $("hc-return").addEventListener("click", function () {
    if (window.confirm(gettext("确定将会话转回机器人？"))) send({ type: "return_to_bot", conversation_id: state.current });
  });
  $("hc-close").addEventListener("click", function () {
    if (window.confirm(gettext("确定结束会话？访客将收到满意度评价邀请。"))) send({ type: "close", conversation_id: state.current });
  });
  $("hc-suggest-refresh").addEventListener("click", requestSuggestions);
  var input = $("hc-input");
  input.addEventListener("input", function () { showCanned(); if (input.value.trim()) sendTyping(true); });
  input.addEventListener("blur", function () { setTimeout(hideCanned, 150); });
  input.addEventListener("keydown", function (e) {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      var matches = cannedMatches();
      if (!$("hc-canned").hidden && matches.length) { insertText(matches[0].text); return; }
      submit();
    } else if (e.key === "Escape") { hideCanned(); }
  });
  var watchForm = $("hc-watch-form");
  if (watchForm) watchForm.addEventListener("submit", function (e) { e.preventDefault(); var id = $("hc-watch-id").value.trim(); if (id) open(id); });
  setInterval(function () {
    var now = Date.now();
    document.querySelectorAll(".hc-wait").forEach(function (w) {
      w.textContent = gettext("等待") + " " + fmtWait(Math.max(0, Math.round((now - Date.parse(w.dataset.since)) / 1000)));
    });
  }, 1000);

  connect();
})();

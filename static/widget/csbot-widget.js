/*!
 * csbot chat widget — one file, no build step, no dependencies.
 *
 * Embed it on any page (the admin shows this line for each site key):
 *   <script src="https://csbot.example.com/static/widget/csbot-widget.js" data-site-key="KEY" async></script>
 *
 * It renders inside a Shadow DOM (the host page's CSS cannot reach it), talks to
 * /ws/chat/ on the server it was loaded from, keeps the session in localStorage across
 * reloads, reconnects with backoff and resumes from the last sequence number it saw, and
 * re-sends unconfirmed messages with the same client id (the server stores each once).
 * Bot answers arrive as HTML already sanitised by the server (nh3); everything a person
 * typed is shown as plain text.
 *
 * Page API: window.CsbotWidget.open(), .close(), .send(text).
 */
(function () {
  "use strict";

  var script = document.currentScript || document.querySelector("script[data-site-key][src*='csbot-widget']");
  if (!script || window.CsbotWidget) return;
  var SITE_KEY = script.getAttribute("data-site-key");
  if (!SITE_KEY) { console.error("[csbot] data-site-key is missing on the widget script tag"); return; }

  var SERVER = new URL(script.src, window.location.href).origin;
  var WS_URL = SERVER.replace(/^http/, "ws") + "/ws/chat/";
  var STORE_KEY = "csbot:" + SITE_KEY;
  var MAX_CHARS = 1000;
  var RESEND_AFTER_MS = 8000;
  var MAX_SEND_TRIES = 4;
  var FATAL_CODES = { site_not_found: 1, origin_not_allowed: 1 };
  var SESSION_GONE_CODES = { session_not_found: 1, invalid_token: 1, token_required: 1 };

  // ---------------------------------------------------------------- storage
  function loadSession() {
    try { var s = JSON.parse(window.localStorage.getItem(STORE_KEY) || "null"); return s && s.id && s.token ? s : null; }
    catch (e) { return null; }
  }
  function saveSession(s) {
    try { if (s) window.localStorage.setItem(STORE_KEY, JSON.stringify(s)); else window.localStorage.removeItem(STORE_KEY); }
    catch (e) { /* private mode: the session lasts for this page only */ }
  }
  function newClientId() {
    if (window.crypto && window.crypto.randomUUID) return "c-" + window.crypto.randomUUID();
    return "c-" + Date.now().toString(36) + "-" + Math.random().toString(36).slice(2, 12);
  }

  // ---------------------------------------------------------------- styles
  var CSS = [
    ":host{all:initial}",
    "*{box-sizing:border-box}",
    ".root{--c:#2563eb;font-family:-apple-system,BlinkMacSystemFont,'PingFang SC','Hiragino Sans GB','Microsoft YaHei','Noto Sans CJK SC',sans-serif;font-size:14px;line-height:1.5;color:#1f2937}",
    ".launcher{position:fixed;right:20px;bottom:20px;width:56px;height:56px;border-radius:50%;border:0;background:var(--c);color:#fff;font-size:26px;cursor:pointer;box-shadow:0 6px 20px rgba(0,0,0,.25);z-index:2147483000;display:flex;align-items:center;justify-content:center}",
    ".launcher:focus-visible{outline:3px solid #93c5fd;outline-offset:2px}",
    ".badge{position:absolute;top:-2px;right:-2px;min-width:20px;height:20px;border-radius:10px;background:#ef4444;color:#fff;font-size:12px;line-height:20px;text-align:center;padding:0 5px;display:none}",
    ".badge.on{display:block}",
    ".panel{position:fixed;right:20px;bottom:88px;width:370px;height:min(600px,calc(100vh - 110px));background:#fff;border-radius:14px;box-shadow:0 12px 40px rgba(0,0,0,.22);display:none;flex-direction:column;overflow:hidden;z-index:2147483001}",
    ".panel.open{display:flex}",
    ".head{background:var(--c);color:#fff;padding:12px 14px;display:flex;align-items:center;gap:10px}",
    ".head .title{font-weight:600;font-size:15px}",
    ".head .sub{font-size:12px;opacity:.9}",
    ".head .grow{flex:1;min-width:0}",
    ".head button{background:rgba(255,255,255,.18);border:0;color:#fff;border-radius:8px;padding:5px 9px;cursor:pointer;font-size:13px}",
    ".head button:hover{background:rgba(255,255,255,.3)}",
    ".banner{display:none;background:#fef3c7;color:#92400e;font-size:12px;padding:6px 12px;text-align:center}",
    ".banner.on{display:block}",
    ".banner.fatal{background:#fee2e2;color:#991b1b}",
    ".log{flex:1;overflow-y:auto;padding:14px 12px;background:#f5f7fb;display:flex;flex-direction:column;gap:10px}",
    ".msg{display:flex;flex-direction:column;max-width:86%}",
    ".msg.visitor{align-self:flex-end;align-items:flex-end}",
    ".msg.bot,.msg.agent,.msg.welcome{align-self:flex-start}",
    ".msg.system{align-self:center;max-width:92%}",
    ".bubble{padding:9px 12px;border-radius:12px;background:#fff;box-shadow:0 1px 2px rgba(0,0,0,.06);word-wrap:break-word;overflow-wrap:anywhere;white-space:normal}",
    ".msg.visitor .bubble{background:var(--c);color:#fff;white-space:pre-wrap;border-bottom-right-radius:4px}",
    ".msg.bot .bubble,.msg.welcome .bubble,.msg.agent .bubble{border-bottom-left-radius:4px}",
    ".msg.agent .bubble{white-space:pre-wrap}",
    ".msg.system .bubble{background:#e5e7eb;color:#4b5563;font-size:12px;box-shadow:none;text-align:center}",
    ".who{font-size:11px;color:#6b7280;margin:0 4px 2px}",
    ".bubble p{margin:0 0 6px}.bubble p:last-child{margin-bottom:0}",
    ".bubble ul,.bubble ol{margin:4px 0;padding-left:20px}",
    ".bubble a{color:var(--c)}.msg.visitor .bubble a{color:#fff}",
    ".bubble img{max-width:100%}",
    ".bubble code{background:#f3f4f6;padding:0 3px;border-radius:3px}",
    ".meta{font-size:11px;color:#9ca3af;margin:2px 4px 0;display:flex;gap:8px;align-items:center}",
    ".msg.pending .bubble{opacity:.7}",
    ".msg.failed .bubble{background:#fca5a5;color:#7f1d1d}",
    ".retry{background:none;border:0;color:#dc2626;cursor:pointer;font-size:11px;padding:0;text-decoration:underline}",
    ".chips{display:flex;flex-wrap:wrap;gap:6px;margin-top:6px}",
    ".chip{border:1px solid var(--c);color:var(--c);background:#fff;border-radius:16px;padding:5px 11px;font-size:13px;cursor:pointer;text-align:left;font-family:inherit}",
    ".chip:hover{background:var(--c);color:#fff}",
    ".chip:disabled{opacity:.5;cursor:default}",
    ".rate{display:flex;gap:4px;margin-top:4px}",
    ".rate button{border:1px solid #d1d5db;background:#fff;border-radius:12px;padding:1px 8px;cursor:pointer;font-size:13px;line-height:20px}",
    ".rate button.on{border-color:var(--c);background:#eff6ff}",
    ".rate .thanks{font-size:11px;color:#6b7280;align-self:center}",
    ".typing{display:none;align-self:flex-start;background:#fff;border-radius:12px;padding:10px 14px;box-shadow:0 1px 2px rgba(0,0,0,.06)}",
    ".typing.on{display:flex;gap:4px}",
    ".typing i{width:6px;height:6px;border-radius:50%;background:#9ca3af;animation:csbot-blink 1.2s infinite}",
    ".typing i:nth-child(2){animation-delay:.2s}.typing i:nth-child(3){animation-delay:.4s}",
    "@keyframes csbot-blink{0%,80%,100%{opacity:.3}40%{opacity:1}}",
    ".compose{display:flex;gap:8px;padding:10px;border-top:1px solid #e5e7eb;background:#fff;align-items:flex-end}",
    ".compose textarea{flex:1;resize:none;border:1px solid #d1d5db;border-radius:10px;padding:8px 10px;font:inherit;max-height:96px;min-height:38px;outline:none;color:#111827;background:#fff}",
    ".compose textarea:focus{border-color:var(--c)}",
    ".compose .send{background:var(--c);color:#fff;border:0;border-radius:10px;padding:0 14px;height:38px;cursor:pointer;font-size:14px;font-family:inherit}",
    ".compose .send:disabled{opacity:.5;cursor:default}",
    ".foot{font-size:11px;color:#9ca3af;text-align:center;padding:0 0 6px;background:#fff}",
    ".form{background:#fff;border-radius:12px;padding:10px 12px;box-shadow:0 1px 2px rgba(0,0,0,.06);display:flex;flex-direction:column;gap:6px;margin-top:6px;min-width:240px}",
    ".form input,.form textarea{border:1px solid #d1d5db;border-radius:8px;padding:6px 8px;font:inherit;color:#111827;background:#fff;width:100%}",
    ".form textarea{resize:vertical;min-height:56px}",
    ".form .submit{align-self:flex-end;background:var(--c);color:#fff;border:0;border-radius:8px;padding:5px 14px;cursor:pointer;font-family:inherit}",
    ".form .submit:disabled{opacity:.5;cursor:default}",
    ".form .note{font-size:12px;color:#6b7280}",
    ".form .err{font-size:12px;color:#dc2626}",
    ".stars{display:flex;gap:2px}",
    ".star{background:none;border:0;font-size:24px;line-height:1;color:#d1d5db;cursor:pointer;padding:0 2px}",
    ".star.on{color:#f59e0b}",
    "@media (max-width:480px){.panel{right:0;bottom:0;width:100vw;height:100vh;height:100dvh;border-radius:0}.panel.open~.launcher{display:none}}",
  ].join("\n");

  // ---------------------------------------------------------------- DOM helpers
  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text != null) node.textContent = text;
    return node;
  }
  function timeLabel(iso) {
    try { var d = iso ? new Date(iso) : new Date(); return ("0" + d.getHours()).slice(-2) + ":" + ("0" + d.getMinutes()).slice(-2); }
    catch (e) { return ""; }
  }
  // Server HTML is sanitised by nh3 already; links still open outside the host page.
  function setHtml(node, html) {
    node.innerHTML = html;
    node.querySelectorAll("a[href]").forEach(function (a) { a.target = "_blank"; a.rel = "noopener noreferrer nofollow"; });
  }

  // ---------------------------------------------------------------- widget
  function Widget() {
    this.session = loadSession();
    this.ws = null;
    this.connected = false;
    this.fatal = false;
    this.attempt = 0;
    this.reconnectTimer = null;
    this.lastSeq = 0;
    this.status = "bot";
    this.pending = {};       // client_msg_id -> {payload, node, tries, timer}
    this.rendered = {};      // seq -> node
    this.unread = 0;
    this.isOpen = false;
    this.config = { name: "在线客服", welcome_html: "", theme_color: "" };
    this.build();
    this.fetchConfig();
    var self = this;
    window.addEventListener("online", function () { self.backOnline(); });
    window.addEventListener("offline", function () { self.banner("网络已断开，恢复后会自动重新连接…"); });
    if (this.session) this.connect();  // restore history and status right away
  }

  Widget.prototype.build = function () {
    var host = el("div");
    host.id = "csbot-widget";
    host.setAttribute("data-csbot", "");
    var root = host.attachShadow({ mode: "open" });
    var style = el("style"); style.textContent = CSS; root.appendChild(style);
    var wrap = el("div", "root"); root.appendChild(wrap);
    this.wrap = wrap;

    var panel = el("section", "panel"); panel.setAttribute("role", "dialog"); panel.setAttribute("aria-label", "在线客服");
    var head = el("header", "head");
    var titles = el("div", "grow");
    this.titleEl = el("div", "title", "在线客服");
    this.subEl = el("div", "sub", "智能客服在线");
    titles.appendChild(this.titleEl); titles.appendChild(this.subEl);
    this.humanBtn = el("button", "human", "转人工"); this.humanBtn.type = "button"; this.humanBtn.title = "联系人工客服";
    var closeBtn = el("button", "close", "✕"); closeBtn.type = "button"; closeBtn.setAttribute("aria-label", "收起");
    head.appendChild(titles); head.appendChild(this.humanBtn); head.appendChild(closeBtn);

    this.bannerEl = el("div", "banner"); this.bannerEl.setAttribute("role", "status");
    this.log = el("div", "log"); this.log.setAttribute("role", "log"); this.log.setAttribute("aria-live", "polite");
    this.welcomeEl = el("div", "msg welcome");
    this.welcomeBubble = el("div", "bubble", "您好，请问有什么可以帮您？");
    this.welcomeEl.appendChild(this.welcomeBubble);
    this.log.appendChild(this.welcomeEl);
    this.typingEl = el("div", "typing"); this.typingEl.setAttribute("aria-label", "对方正在输入");
    this.typingEl.appendChild(el("i")); this.typingEl.appendChild(el("i")); this.typingEl.appendChild(el("i"));
    this.log.appendChild(this.typingEl);

    var compose = el("div", "compose");
    this.input = el("textarea"); this.input.rows = 1; this.input.placeholder = "请输入您的问题…"; this.input.maxLength = MAX_CHARS;
    this.input.setAttribute("aria-label", "输入消息");
    this.sendBtn = el("button", "send", "发送"); this.sendBtn.type = "button";
    compose.appendChild(this.input); compose.appendChild(this.sendBtn);
    var foot = el("div", "foot", "由 csbot 智能客服提供支持");

    panel.appendChild(head); panel.appendChild(this.bannerEl); panel.appendChild(this.log); panel.appendChild(compose); panel.appendChild(foot);
    this.panel = panel;

    this.launcher = el("button", "launcher", "💬"); this.launcher.type = "button"; this.launcher.setAttribute("aria-label", "打开在线客服");
    this.badge = el("span", "badge"); this.launcher.appendChild(this.badge);
    wrap.appendChild(panel); wrap.appendChild(this.launcher);

    var self = this;
    this.launcher.addEventListener("click", function () { self.isOpen ? self.close() : self.open(); });
    closeBtn.addEventListener("click", function () { self.close(); });
    this.sendBtn.addEventListener("click", function () { self.submit(); });
    this.humanBtn.addEventListener("click", function () { self.requestHuman(); });
    this.input.addEventListener("keydown", function (e) {
      // Enter sends; Shift+Enter is a new line; never send while an IME is composing (拼音).
      if (e.key === "Enter" && !e.shiftKey && !e.isComposing && e.keyCode !== 229) { e.preventDefault(); self.submit(); }
    });
    this.input.addEventListener("input", function () {
      self.input.style.height = "auto"; self.input.style.height = Math.min(self.input.scrollHeight, 96) + "px";
      self.sendTyping();
    });
    (document.body || document.documentElement).appendChild(host);
  };

  Widget.prototype.fetchConfig = function () {
    var self = this;
    fetch(SERVER + "/api/v1/sites/" + encodeURIComponent(SITE_KEY) + "/widget", { credentials: "omit" })
      .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
      .then(function (cfg) {
        self.config = cfg;
        self.wrap.style.setProperty("--c", cfg.theme_color || "#2563eb");
        self.titleEl.textContent = cfg.name || "在线客服";
        if (cfg.welcome_html) setHtml(self.welcomeBubble, cfg.welcome_html);
      })
      .catch(function () { /* keep the defaults; the socket reports a bad key */ });
  };

  // ---------------------------------------------------------------- panel
  Widget.prototype.open = function () {
    this.isOpen = true;
    this.panel.classList.add("open");
    this.launcher.setAttribute("aria-label", "收起在线客服");
    this.unread = 0; this.renderBadge();
    if (!this.ws && !this.fatal) this.connect();
    this.scrollDown();
    var input = this.input; setTimeout(function () { input.focus(); }, 30);
  };
  Widget.prototype.close = function () {
    this.isOpen = false;
    this.panel.classList.remove("open");
    this.launcher.setAttribute("aria-label", "打开在线客服");
  };
  Widget.prototype.renderBadge = function () {
    this.badge.textContent = this.unread > 9 ? "9+" : String(this.unread);
    this.badge.classList.toggle("on", this.unread > 0);
  };
  Widget.prototype.banner = function (text, fatal) {
    this.bannerEl.textContent = text || "";
    this.bannerEl.classList.toggle("on", !!text);
    this.bannerEl.classList.toggle("fatal", !!fatal);
  };
  Widget.prototype.scrollDown = function () { this.log.scrollTop = this.log.scrollHeight; };
  Widget.prototype.showTyping = function (on) {
    this.typingEl.classList.toggle("on", !!on);
    clearTimeout(this.typingTimer);
    var self = this;
    if (on) this.typingTimer = setTimeout(function () { self.showTyping(false); }, 15000);
    this.log.appendChild(this.typingEl);
    this.scrollDown();
  };

  // ---------------------------------------------------------------- connection
  Widget.prototype.connect = function () {
    if (this.fatal) return;
    clearTimeout(this.reconnectTimer); this.reconnectTimer = null;
    var url = WS_URL + "?site=" + encodeURIComponent(SITE_KEY);
    if (this.session) url += "&session=" + encodeURIComponent(this.session.id) + "&token=" + encodeURIComponent(this.session.token);
    var ws;
    try { ws = new WebSocket(url); } catch (e) { this.scheduleReconnect(); return; }
    this.ws = ws;
    var self = this;
    ws.onmessage = function (event) {
      var frame; try { frame = JSON.parse(event.data); } catch (e) { return; }
      if (self.ws === ws) self.onFrame(frame);
    };
    ws.onclose = function () {
      if (self.ws !== ws) return;
      self.ws = null; self.connected = false;
      if (self.fatal) return;
      self.banner(navigator.onLine === false ? "网络已断开，恢复后会自动重新连接…" : "连接已断开，正在重新连接…");
      self.scheduleReconnect();
    };
  };
  Widget.prototype.scheduleReconnect = function () {
    if (this.reconnectTimer || this.fatal) return;
    // 0.5 s, 1 s, 2 s … capped at 30 s, with jitter so a server restart is not stampeded.
    var delay = Math.min(30000, 500 * Math.pow(2, this.attempt)) * (0.75 + Math.random() * 0.5);
    this.attempt += 1;
    var self = this;
    this.reconnectTimer = setTimeout(function () { self.reconnectTimer = null; self.connect(); }, delay);
  };
  // The network came back. A socket that stayed open may still have missed frames while the
  // machine was offline: clear the banner and resume from the last sequence number we saw (a
  // socket that died meanwhile fails that send, and its close handler reconnects).
  Widget.prototype.backOnline = function () {
    if (!this.connected) { this.reconnectNow(); return; }
    if (!this.fatal) this.banner("");
    this.sendFrame({ type: "resume", since_seq: this.lastSeq });
  };
  Widget.prototype.reconnectNow = function () {
    if (this.connected || this.fatal) return;
    this.attempt = 0;
    if (this.ws) { try { this.ws.close(); } catch (e) { /* already closing */ } this.ws = null; }
    this.connect();
  };
  Widget.prototype.startNewSession = function () {
    saveSession(null); this.session = null;
    this.lastSeq = 0; this.status = "bot"; this.historyUpTo = 0;
    // The old conversation stays on screen above a divider; its sequence numbers are retired.
    var self = this;
    Object.keys(this.rendered).forEach(function (seq) { self.rendered[seq].removeAttribute("data-seq"); });
    this.rendered = {};
    if (this.log.querySelector("[data-seq], .msg.visitor, .msg.bot")) {
      var divider = el("div", "msg system"); divider.appendChild(el("div", "bubble", "—— 新的会话 ——"));
      this.insertBySeq(divider, 0);
    }
    var old = this.ws; this.ws = null; this.connected = false;
    if (old) { try { old.close(); } catch (e) { /* ignore */ } }
    this.connect();
  };
  Widget.prototype.sendFrame = function (frame) {
    if (!this.connected || !this.ws || this.ws.readyState !== 1) return false;
    this.ws.send(JSON.stringify(frame));
    return true;
  };

  // ---------------------------------------------------------------- frames in
  Widget.prototype.onFrame = function (frame) {
    switch (frame.type) {
      case "status": return this.onStatus(frame);
      case "message": return this.onMessage(frame.message);
      case "typing": return this.showTyping(frame.active !== false);
      case "feedback": return this.onFeedback(frame);
      case "csat": return this.formDone("csat", "感谢您的评价！");
      case "left_message": return this.formDone("leave_message", "留言已提交，我们会尽快联系您。");
      case "error": return this.onError(frame);
    }
  };
  Widget.prototype.onStatus = function (frame) {
    if (frame.session_id) {  // first frame of a connection
      if (frame.token) { this.session = { id: frame.session_id, token: frame.token }; saveSession(this.session); }
      // What already existed when this page first connected is history, not unread news.
      if (this.historyUpTo == null) this.historyUpTo = frame.last_seq || 0;
      this.connected = true; this.attempt = 0; this.banner("");
      this.sendFrame({ type: "resume", since_seq: this.lastSeq });
      this.flushPending();
    }
    this.status = frame.status;
    var sub = { bot: "智能客服在线", with_agent: "人工客服" + (frame.agent_name ? " " + frame.agent_name : "") + " 正在为您服务", closed: "会话已结束，发送消息可开始新的咨询" }[frame.status];
    if (frame.status === "queued") {
      // position 1 = next; the server may send the manager-edited sentence as ``notice``.
      sub = frame.notice || (frame.position ? "正在为您转接人工客服，您前面还有 " + (frame.position - 1) + " 位" : "正在为您转接人工客服…");
    }
    if (frame.notice) sub = frame.notice;  // a manager-edited sentence the server may send along
    this.subEl.textContent = sub || "";
    this.humanBtn.style.display = frame.status === "bot" ? "" : "none";
    if (frame.status !== "bot") this.showTyping(false);
  };
  Widget.prototype.onMessage = function (m) {
    if (!m || typeof m.seq !== "number") return;
    if (this.rendered[m.seq]) return;
    this.lastSeq = Math.max(this.lastSeq, m.seq);
    if (m.client_msg_id && this.pending[m.client_msg_id]) {
      var p = this.pending[m.client_msg_id];
      clearTimeout(p.timer);
      if (p.node.parentNode) p.node.parentNode.removeChild(p.node);
      delete this.pending[m.client_msg_id];
    }
    var node = this.renderMessage(m);
    this.rendered[m.seq] = node;
    this.insertBySeq(node, m.seq);
    if (m.sender !== "visitor") {
      this.showTyping(false);
      if (!this.isOpen && m.sender !== "system" && m.seq > (this.historyUpTo || 0)) { this.unread += 1; this.renderBadge(); }
    }
    this.scrollDown();
  };
  Widget.prototype.insertBySeq = function (node, seq) {
    var children = this.log.children;
    for (var i = 0; i < children.length; i++) {
      var s = Number(children[i].getAttribute("data-seq"));
      if ((s && s > seq) || children[i].classList.contains("pending") || children[i] === this.typingEl) {
        this.log.insertBefore(node, children[i]);
        return;
      }
    }
    this.log.appendChild(node);
  };
  Widget.prototype.renderMessage = function (m) {
    var node = el("div", "msg " + m.sender);
    node.setAttribute("data-seq", String(m.seq));
    node.setAttribute("data-id", String(m.id));
    if (m.sender === "agent") node.appendChild(el("div", "who", m.agent_name || "人工客服"));
    var bubble = el("div", "bubble");
    if (m.html) setHtml(bubble, m.html); else bubble.textContent = m.text;
    node.appendChild(bubble);
    var self = this;
    if (m.suggestions && m.suggestions.length) {
      var chips = el("div", "chips");
      m.suggestions.forEach(function (s) {
        var chip = el("button", "chip", s.question); chip.type = "button";
        chip.addEventListener("click", function () { self.send(s.question, { entry_id: s.entry_id }); });
        chips.appendChild(chip);
      });
      node.appendChild(chips);
    }
    if (m.actions && m.actions.length) {
      var acts = el("div", "chips");
      m.actions.forEach(function (a) {
        if (a.type === "csat") { node.appendChild(self.renderCsat()); return; }
        if (a.type === "leave_message") { node.appendChild(self.renderLeaveMessage(a.note && a.note !== m.text ? a.note : "")); return; }
        if (a.type !== "handoff") return;
        var b = el("button", "chip handoff", a.label || "转人工"); b.type = "button";
        b.addEventListener("click", function () { self.requestHuman(); });
        acts.appendChild(b);
      });
      node.appendChild(acts);
    }
    if (m.rateable) node.appendChild(this.renderRating(m));
    var meta = el("div", "meta", timeLabel(m.created_at));
    node.appendChild(meta);
    return node;
  };
  Widget.prototype.renderRating = function (m) {
    var box = el("div", "rate");
    var up = el("button", "rate-up", "👍"); up.type = "button"; up.title = "有帮助"; up.setAttribute("aria-label", "有帮助");
    var down = el("button", "rate-down", "👎"); down.type = "button"; down.title = "没帮助"; down.setAttribute("aria-label", "没帮助");
    var thanks = el("span", "thanks", "");
    box.appendChild(up); box.appendChild(down); box.appendChild(thanks);
    var self = this;
    function mark(helpful) {
      up.classList.toggle("on", helpful === true); down.classList.toggle("on", helpful === false);
      up.setAttribute("aria-pressed", String(helpful === true)); down.setAttribute("aria-pressed", String(helpful === false));
    }
    function rate(helpful) {
      mark(helpful);
      if (!self.sendFrame({ type: "feedback", message_id: m.id, helpful: helpful })) thanks.textContent = "网络未连接，请稍后再评价";
    }
    up.addEventListener("click", function () { rate(true); });
    down.addEventListener("click", function () { rate(false); });
    if (m.feedback) { mark(m.feedback.helpful); thanks.textContent = "感谢您的反馈"; }
    box._mark = mark; box._thanks = thanks;
    return box;
  };
  // Forms the server asks for in a system message: CSAT after an agent closed the chat, and
  // leaving a message when nobody can take it. Only the latest form of each kind is live.
  Widget.prototype.formBox = function (kind, note) {
    var box = el("form", "form " + (kind === "csat" ? "csat" : "leave"));
    if (note) box.appendChild(el("div", "note", note));
    var err = el("div", "err", "");
    var submit = el("button", "submit " + (kind === "csat" ? "csat-submit" : "leave-submit"), "提交"); submit.type = "submit";
    this.forms = this.forms || {};
    if (this.forms[kind] && this.forms[kind].box.parentNode && !this.forms[kind].done) this.forms[kind].box.parentNode.removeChild(this.forms[kind].box);
    this.forms[kind] = { box: box, err: err, submit: submit, done: false };
    return { box: box, err: err, submit: submit };
  };
  Widget.prototype.formDone = function (kind, text) {
    var form = this.forms && this.forms[kind];
    if (!form) return;
    form.done = true;
    form.box.textContent = "";
    form.box.appendChild(el("div", "note", text));
  };
  Widget.prototype.renderCsat = function () {
    var f = this.formBox("csat", "请为本次人工服务打分");
    var stars = el("div", "stars"); var rating = 0; var buttons = [];
    for (var i = 1; i <= 5; i++) {
      (function (value) {
        var b = el("button", "star", "★"); b.type = "button"; b.setAttribute("aria-label", value + " 星");
        b.addEventListener("click", function () { rating = value; buttons.forEach(function (x, j) { x.classList.toggle("on", j < value); }); });
        buttons.push(b); stars.appendChild(b);
      })(i);
    }
    var comment = el("textarea"); comment.placeholder = "说说您的感受（选填）"; comment.maxLength = 500;
    f.box.appendChild(stars); f.box.appendChild(comment); f.box.appendChild(f.err); f.box.appendChild(f.submit);
    var self = this;
    f.box.addEventListener("submit", function (e) {
      e.preventDefault();
      if (!rating) { f.err.textContent = "请先选择星级"; return; }
      f.err.textContent = ""; f.submit.disabled = true;
      if (!self.sendFrame({ type: "csat", rating: rating, comment: comment.value.trim() })) { f.err.textContent = "网络未连接，请稍后再试"; f.submit.disabled = false; }
    });
    return f.box;
  };
  Widget.prototype.renderLeaveMessage = function (note) {
    var f = this.formBox("leave_message", note || "留下联系方式和问题，我们会尽快联系您");
    var name = el("input"); name.placeholder = "称呼（选填）"; name.maxLength = 64;
    var contact = el("input"); contact.placeholder = "手机号或邮箱"; contact.maxLength = 128; contact.required = true;
    var text = el("textarea"); text.placeholder = "请描述您的问题"; text.maxLength = 2000; text.required = true;
    [name, contact, text, f.err, f.submit].forEach(function (n) { f.box.appendChild(n); });
    var self = this;
    f.box.addEventListener("submit", function (e) {
      e.preventDefault();
      f.err.textContent = ""; f.submit.disabled = true;
      var frame = { type: "leave_message", name: name.value.trim(), contact: contact.value.trim(), text: text.value.trim() };
      if (!self.sendFrame(frame)) { f.err.textContent = "网络未连接，请稍后再试"; f.submit.disabled = false; }
    });
    return f.box;
  };
  Widget.prototype.onFeedback = function (frame) {
    var node = this.log.querySelector('.msg[data-id="' + Number(frame.message_id) + '"] .rate');
    if (node) { node._mark(frame.helpful); node._thanks.textContent = "感谢您的反馈"; }
  };
  Widget.prototype.onError = function (frame) {
    if (frame.action === "csat" || frame.action === "leave_message") {
      if (frame.code === "csat_already_submitted") return this.formDone("csat", frame.detail || "您已经评价过了，谢谢！");
      var form = this.forms && this.forms[frame.action];
      if (form) { form.err.textContent = frame.detail || "提交失败"; form.submit.disabled = false; }
      return;
    }
    if (FATAL_CODES[frame.code]) {
      this.fatal = true;
      this.banner("客服暂时无法在此网站使用（" + (frame.detail || frame.code) + "）", true);
      return;
    }
    if (SESSION_GONE_CODES[frame.code]) { this.startNewSession(); return; }  // stale stored session
    if (frame.code === "session_closed") { this.status = "closed"; this.startNewSession(); return; }
    var p = frame.client_msg_id && this.pending[frame.client_msg_id];
    if (p) {
      clearTimeout(p.timer);
      // Nothing was stored for this id: a later retry re-sends the same id safely.
      this.markFailed(frame.client_msg_id, frame.detail || "发送失败");
      return;
    }
    if (frame.code === "rate_limited" || frame.message_id) this.banner(frame.detail || "操作失败", false);
  };

  // ---------------------------------------------------------------- frames out
  Widget.prototype.submit = function () {
    var text = this.input.value.trim();
    if (!text) return;
    if (text.length > MAX_CHARS) { this.banner("消息太长了，最多 " + MAX_CHARS + " 个字"); return; }
    this.input.value = ""; this.input.style.height = "auto";
    this.send(text, {});
  };
  Widget.prototype.send = function (text, extra) {
    var id = newClientId();
    var payload = { type: "message", text: text, client_msg_id: id };
    if (extra.entry_id) payload.entry_id = extra.entry_id;
    if (extra.handoff) payload.handoff = true;
    var node = el("div", "msg visitor pending");
    node.appendChild(el("div", "bubble", text));
    var meta = el("div", "meta", "发送中…"); node.appendChild(meta);
    this.log.appendChild(node); this.log.appendChild(this.typingEl);
    this.pending[id] = { payload: payload, node: node, meta: meta, tries: 0, timer: null };
    this.scrollDown();
    if (!this.isOpen) this.open();
    if (this.status === "closed") { this.startNewSession(); return; }  // flushed once the new session opens
    if (!this.ws && !this.fatal) this.connect();
    this.trySend(id);
  };
  Widget.prototype.trySend = function (id) {
    var p = this.pending[id];
    if (!p) return;
    p.node.classList.remove("failed"); p.node.classList.add("pending"); p.meta.textContent = "发送中…";
    clearTimeout(p.timer);
    var self = this;
    if (this.sendFrame(p.payload)) {
      p.tries += 1;
      if (this.status === "bot") this.showTyping(true);
    }
    // No confirmation yet (lost frame, dropped socket): send again with the same id.
    p.timer = setTimeout(function () {
      if (!self.pending[id]) return;
      if (p.tries >= MAX_SEND_TRIES) { self.markFailed(id, "发送失败"); return; }
      if (!self.connected) self.reconnectNow();
      self.trySend(id);
    }, RESEND_AFTER_MS);
  };
  Widget.prototype.flushPending = function () {
    var self = this;
    Object.keys(this.pending).forEach(function (id) { if (!self.pending[id].node.classList.contains("failed")) self.trySend(id); });
  };
  Widget.prototype.markFailed = function (id, detail) {
    var p = this.pending[id];
    if (!p) return;
    this.showTyping(false);
    p.node.classList.remove("pending"); p.node.classList.add("failed");
    p.meta.textContent = detail + " ";
    var retry = el("button", "retry", "重试"); retry.type = "button";
    var self = this;
    retry.addEventListener("click", function () { p.tries = 0; self.trySend(id); });
    p.meta.appendChild(retry);
  };
  Widget.prototype.requestHuman = function () {
    if (this.status === "queued" || this.status === "with_agent") return;
    this.send("转人工", { handoff: true });
  };
  Widget.prototype.sendTyping = function () {
    if (this.status !== "queued" && this.status !== "with_agent") return;
    var now = Date.now();
    if (now - (this.typingSentAt || 0) < 2000) return;
    this.typingSentAt = now;
    this.sendFrame({ type: "typing" });
  };

  function start() {
    var widget = new Widget();
    window.CsbotWidget = {
      open: function () { widget.open(); },
      close: function () { widget.close(); },
      send: function (text) { if (text) widget.send(String(text), {}); },
    };
  }
  if (document.body) start(); else document.addEventListener("DOMContentLoaded", start);
})();

// The elder's dynamic meal code on the elder page (issue 23): GET /api/orders/elders/{id}/meal-code
// gives a signed code valid for 60 s and usable once; it is shown as a QR code (the vendored
// qrcode-generator) and as text to read out or type, and replaced every 50 s, so the one shown is
// always valid when a counter scans it. For a family member it follows the elder chosen on the page.
(() => {
  const $ = s => document.querySelector(s);
  const REFRESH_MS = 50_000; // the code lives 60 s: a new one 10 s before it runs out
  const section = $("#meal-code");
  const me = Youfu.me();
  if (!section || !Youfu.token() || !me || !["elder", "family"].includes(me.role)) return;

  let elderId = null, timer = null, expiresAt = null, fetchedAt = 0, seq = 0;

  function chosenElder() {
    const ids = me.elder_ids && me.elder_ids.length ? me.elder_ids : (me.elder_id ? [me.elder_id] : []);
    const saved = sessionStorage.getItem("yf.elder");
    return ids.includes(saved) ? saved : ids[0] || null;
  }

  function say(text) { const box = $("#meal-code-msg"); Youfu.show(box, text); }
  function quiet() { $("#meal-code-msg").hidden = true; }

  function draw(code) {
    const box = $("#meal-code-qr");
    box.innerHTML = "";
    if (typeof qrcode !== "function") { box.textContent = "二维码显示不了，请把下面的码念给工作人员。"; return; }
    const qr = qrcode(0, "M"); // the smallest version that holds the code
    // upper-case letters, digits and "-": QR's alphanumeric mode, the densest for such text
    qr.addData(code, /^[0-9A-Z $%*+\-./:]+$/.test(code) ? "Alphanumeric" : "Byte");
    qr.make();
    const img = document.createElement("img");
    img.src = qr.createDataURL(8, 16);
    img.alt = "吃饭码二维码，码是 " + code.split("").join(" ");
    img.width = img.height = qr.getModuleCount() * 8 + 32;
    box.appendChild(img);
  }

  function countdown() {
    if (!expiresAt) return;
    const left = Math.max(0, Math.round((expiresAt - Date.now()) / 1000));
    const until = new Date(expiresAt).toLocaleTimeString("zh-CN", { timeZone: Youfu.TZ, hour12: false });
    $("#meal-code-state").textContent = left > 0 ? `有效到 ${until}，会自动换新码。` : "这个码已过期，正在换新码……";
  }

  async function refresh() {
    clearTimeout(timer);
    if (!elderId) return;
    const mine = ++seq;
    try {
      const answer = await Youfu.api("GET", `/api/orders/elders/${encodeURIComponent(elderId)}/meal-code`);
      if (mine !== seq) return; // another elder was chosen meanwhile
      quiet();
      section.dataset.code = answer.code;
      $("#meal-code-text").textContent = answer.code;
      draw(answer.code);
      expiresAt = Date.parse(answer.expires_at) || Date.now() + 60_000;
      fetchedAt = Date.now();
      countdown();
    } catch (err) {
      if (mine !== seq) return;
      say(err.status === 0 ? "网络断了，吃饭码暂时更新不了，联网后会自动更新。"
        : "吃饭码暂时取不到：" + Youfu.explain(err) + "。需要帮助请拨打服务热线 88012349。");
    }
    timer = setTimeout(refresh, REFRESH_MS);
  }

  function choose(id) {
    if (!id || id === elderId) return;
    elderId = id;
    $("#meal-code-qr").innerHTML = ""; $("#meal-code-text").textContent = ""; $("#meal-code-state").textContent = "";
    refresh();
  }

  // the page's own elder choice (elder.js) stores the chosen elder; follow it without touching elder.js
  document.addEventListener("click", e => {
    const b = e.target.closest && e.target.closest("#elder-choice button[data-elder]");
    if (b) choose(b.dataset.elder);
  });
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible" && Date.now() - fetchedAt > 40_000) refresh();
  });
  window.addEventListener("online", () => { if (Date.now() - fetchedAt > 40_000) refresh(); });
  $("#meal-code-refresh").addEventListener("click", refresh);
  setInterval(countdown, 1000);

  const first = chosenElder();
  if (!first) return; // no linked elder: the page says so itself
  section.hidden = false;
  choose(first);
})();

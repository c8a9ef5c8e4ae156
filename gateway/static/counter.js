// The meal point's counter (issue 23): scan the elder's code with the camera (BarcodeDetector,
// where the browser has it) or type it; look the elder up (name, subsidy tier, today's meals);
// take the meal and show the receipt at once ("补贴 5.00 元，自付 10.00 元"); undo within 10 minutes.
// A scan the network could not carry is kept in IndexedDB with the Idempotency-Key it got when it
// was scanned, shown as "待上传", and sent when the browser is online again (the `online` event and
// a timer): the same key and body each time, so the server makes one meal whatever the retries.
(() => {
  const O = "/api/orders", P = "/api/providers";
  const $ = s => document.querySelector(s);
  const esc = s => Youfu.esc(s);
  const yuan = fen => Youfu.yuan(fen || 0);
  const q = encodeURIComponent;
  const HELP = "仍有问题请拨打服务热线 88012349。";
  const MEALS = { lunch: "午餐", dinner: "晚餐" };
  const RETRY_MS = 15_000;

  const me = Youfu.requireRole(["provider_admin", "caregiver"], "助餐点收银台");
  if (!me) { document.querySelectorAll("main > section, main > p, main > h2").forEach(x => { x.hidden = true; }); return; }
  const pid = me.provider_id;
  const base = `${O}/meal-points/${q(pid)}`;

  const say = (sel, text, kind = "error") => {
    const box = $(sel);
    Youfu.show(box, text, kind);
    if (kind === "ok") box.setAttribute("role", "status");
  };
  const quiet = sel => { $(sel).hidden = true; };
  const explain = err => err.status === 0 ? "网络连接中断了。"
    : err.status >= 500 ? "服务暂时出了问题，请稍后再试。" + HELP
    : Youfu.explain(err).replace(/[。.]?$/, "。");
  const timeText = iso => new Date(iso).toLocaleTimeString("zh-CN", { timeZone: Youfu.TZ, hour12: false });
  // A failure the network caused (no answer at all), as opposed to a refusal the server gave.
  const networkFailure = err => err.status === 0 || err.status === 502 || err.status === 503 || err.status === 504;

  // ---- the scan being handled -------------------------------------------------------------------
  let scan = { method: "typed", scannedAt: null }; // how and when the code in the box arrived
  let looked = null; // the lookup's answer for the code in the box
  const recent = []; // today's meals at this point (the server's answers), newest first

  const codeOf = raw => String(raw || "").trim().toUpperCase().replace(/\s+/g, "");
  $("#meal-code").addEventListener("input", () => {
    scan = { method: "typed", scannedAt: new Date().toISOString() };
    looked = null; $("#elder-card").hidden = true; $("#confirm-name-row").hidden = true;
  });
  // lunch before 15:00 city time, dinner after
  const hour = Number(new Intl.DateTimeFormat("en-GB", { timeZone: Youfu.TZ, hour: "2-digit", hourCycle: "h23" }).format(new Date()));
  document.querySelector(`input[name="meal"][value="${hour < 15 ? "lunch" : "dinner"}"]`).checked = true;
  const priceKey = `yf.counter.price.${pid}`;
  if (localStorage.getItem(priceKey)) $("#meal-price").value = localStorage.getItem(priceKey);

  // ---- the point ---------------------------------------------------------------------------------
  async function loadPoint() {
    try {
      const p = await Youfu.api("GET", `${P}/providers/${q(pid)}`);
      $("#point-name").textContent = p.legal_name || p.name || "";
      if (p.kind && p.kind !== "meal_point") {
        say("#page-msg", "您所在的服务商不是助餐点，不能在这里给老人取餐。" + HELP);
        document.querySelectorAll("main > section").forEach(x => { x.hidden = true; });
        return false;
      }
      if (p.status && p.status !== "approved") say("#page-msg", "本助餐点现在不是“已通过”状态，暂时不能取餐。请联系区民政部门。");
    } catch (err) {
      if (!networkFailure(err)) say("#page-msg", "读不到助餐点的信息：" + explain(err));
    }
    return true;
  }

  // ---- lookup --------------------------------------------------------------------------------------
  // The tier is vouchers' code (its policy data names them); the default policy's codes read as words
  const TIERS = { tekun: "特困", dibao: "低保", age_80: "80 岁及以上", age_60: "60–79 岁", none: "无补贴" };
  function showElder(r) {
    const meals = r.today || [];
    const list = meals.length ? meals.map(m => `${esc(m.meal_name || MEALS[m.meal] || "")}`
      + `${m.redeemed_at ? " " + timeText(m.redeemed_at) : ""}${m.provider_name ? "（" + esc(m.provider_name) + "）" : ""}`).join("、")
      : "还没有";
    const box = $("#elder-card");
    box.innerHTML = `<p class="elder-name">${esc(r.elder_name || "")}</p>`
      + `<p>补贴档次：${r.tier ? esc(TIERS[r.tier] || r.tier) : "取餐时核定"}</p>`
      + `<p>今天已吃：${list}</p>`
      + (r.static ? `<p class="notice error">这是助餐卡上的固定码：请核对老人本人后再取餐。`
        + `${r.static_left_today !== null && r.static_left_today !== undefined ? `今天还可用卡取餐 ${r.static_left_today} 次。` : ""}</p>` : "");
    box.hidden = false;
    $("#confirm-name-row").hidden = !(r.static || r.confirm_name_required);
    $("#confirm-name").checked = false;
  }

  async function lookup() {
    const code = codeOf($("#meal-code").value);
    quiet("#lookup-msg");
    if (!code) { say("#lookup-msg", "请先扫码或输入吃饭码。"); $("#meal-code").focus(); return; }
    if (!scan.scannedAt) scan.scannedAt = new Date().toISOString();
    try {
      looked = { code, answer: await Youfu.api("POST", `${base}/lookups`, { code }) };
      showElder(looked.answer);
    } catch (err) {
      looked = null; $("#elder-card").hidden = true;
      say("#lookup-msg", networkFailure(err) ? "网络断了，查不到老人信息；可以直接取餐，联网后自动上传。"
        : "这个码不能用：" + explain(err));
    }
  }
  $("#code-form").addEventListener("submit", e => { e.preventDefault(); lookup(); });

  // ---- camera (where the browser can read QR codes itself) -----------------------------------------
  let stream = null, detector = null, scanning = false;
  async function cameraUsable() {
    if (!("BarcodeDetector" in window) || !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) return false;
    try { return (await window.BarcodeDetector.getSupportedFormats()).includes("qr_code"); } catch { return false; }
  }
  async function startCamera() {
    try {
      detector = detector || new window.BarcodeDetector({ formats: ["qr_code"] });
      stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false });
    } catch {
      say("#lookup-msg", "打不开摄像头：请允许本网页使用摄像头，或直接输入老人的吃饭码。"); return;
    }
    const video = $("#camera");
    video.srcObject = stream; video.hidden = false;
    await video.play().catch(() => {});
    $("#camera-start").hidden = true; $("#camera-stop").hidden = false;
    scanning = true;
    while (scanning) {
      try {
        const found = await detector.detect(video);
        const hit = found.find(b => b.rawValue);
        if (hit) {
          stopCamera();
          $("#meal-code").value = codeOf(hit.rawValue);
          scan = { method: "scanned", scannedAt: new Date().toISOString() };
          await lookup();
          break;
        }
      } catch { /* a frame not ready yet */ }
      await new Promise(r => setTimeout(r, 250));
    }
  }
  function stopCamera() {
    scanning = false;
    if (stream) stream.getTracks().forEach(t => t.stop());
    stream = null;
    $("#camera").hidden = true; $("#camera-stop").hidden = true; $("#camera-start").hidden = false;
  }
  $("#camera-start").addEventListener("click", startCamera);
  $("#camera-stop").addEventListener("click", stopCamera);
  cameraUsable().then(ok => { $("#camera-start").hidden = !ok; });

  // ---- the offline queue (IndexedDB) ---------------------------------------------------------------
  const DB_NAME = "youfu-counter", STORE = "scans";
  let dbPromise = null;
  function db() {
    dbPromise = dbPromise || new Promise((resolve, reject) => {
      const open = indexedDB.open(DB_NAME, 1);
      open.onupgradeneeded = () => open.result.createObjectStore(STORE, { keyPath: "key" });
      open.onsuccess = () => resolve(open.result);
      open.onerror = () => reject(open.error);
    });
    return dbPromise;
  }
  async function store(mode, fn) {
    const d = await db();
    return new Promise((resolve, reject) => {
      const tx = d.transaction(STORE, mode);
      const req = fn(tx.objectStore(STORE));
      tx.oncomplete = () => resolve(req && req.result);
      tx.onerror = () => reject(tx.error);
    });
  }
  const queued = async () => ((await store("readonly", s => s.getAll())) || [])
    .filter(x => x.point === pid).sort((a, b) => a.body.scanned_at.localeCompare(b.body.scanned_at));
  const enqueue = entry => store("readwrite", s => s.put(entry));
  const dequeue = key => store("readwrite", s => s.delete(key));

  async function showQueue() {
    const list = await queued();
    $("#queue").hidden = !list.length;
    $("#queue-list").innerHTML = list.map(x => `<li data-key="${esc(x.key)}" class="${x.refused ? "refused" : "pending"}">`
      + `<span>${esc(MEALS[x.body.meal])} ${yuan(x.body.price_fen)} 元 · 码 ${esc(x.body.code.slice(-9))} · ${timeText(x.body.scanned_at)} 扫码</span> `
      + (x.refused ? `<strong>没有上传成功：${esc(x.refused)}</strong> <button type="button" data-drop="${esc(x.key)}">知道了，删除</button>`
        : `<strong class="pending-tag">待上传</strong>`) + "</li>").join("");
    $("#net-state").textContent = navigator.onLine ? (list.some(x => !x.refused) ? "网络已连接，正在上传待上传的取餐……" : "")
      : "网络已断开：取餐会先记在本机，联网后自动上传。";
  }
  $("#queue-list").addEventListener("click", async e => {
    const b = e.target.closest("button[data-drop]");
    if (b) { await dequeue(b.dataset.drop); showQueue(); }
  });

  let syncing = false;
  async function sync() {
    if (syncing || !navigator.onLine) return;
    syncing = true;
    try {
      for (const entry of await queued()) {
        if (entry.refused) continue;
        try {
          const answer = await Youfu.api("POST", `${base}/redemptions`, entry.body, { idempotencyKey: entry.key });
          await dequeue(entry.key);
          remember(answer, entry.body);
        } catch (err) {
          if (networkFailure(err)) break; // still away: the next pass tries again, same key
          entry.refused = explain(err);
          await enqueue(entry);
        }
      }
    } finally {
      syncing = false;
      showQueue();
    }
  }
  window.addEventListener("online", () => { showQueue(); sync(); });
  window.addEventListener("offline", showQueue);
  setInterval(sync, RETRY_MS);

  // ---- taking the meal -----------------------------------------------------------------------------
  function priceFen() {
    const text = $("#meal-price").value.trim();
    if (!/^\d{1,4}(\.\d{1,2})?$/.test(text)) return null;
    const [whole, frac = ""] = text.split(".");
    const fen = Number(whole) * 100 + Number((frac + "00").slice(0, 2));
    return fen > 0 ? fen : null;
  }

  let taking = false;
  $("#meal-form").addEventListener("submit", async e => {
    e.preventDefault();
    if (taking) return;
    quiet("#take-msg");
    const code = codeOf($("#meal-code").value);
    if (!code) { say("#take-msg", "请先扫码或输入老人的吃饭码。"); $("#meal-code").focus(); return; }
    const price = priceFen();
    if (price === null) { say("#take-msg", "价格请填写金额，例如 15.00。"); $("#meal-price").focus(); return; }
    const isStatic = !!(looked && looked.code === code && (looked.answer.static || looked.answer.confirm_name_required));
    if (isStatic && !$("#confirm-name").checked) { say("#take-msg", "这是助餐卡上的固定码：请先核对老人本人，勾选“已核对”。"); return; }
    localStorage.setItem(priceKey, $("#meal-price").value.trim());
    const body = { code, meal: document.querySelector('input[name="meal"]:checked').value, price_fen: price,
                   scanned_at: scan.scannedAt || new Date().toISOString(), method: scan.method };
    if (isStatic) body.confirm_name = true;
    const entry = { key: Youfu.uuid(), point: pid, body }; // the key is made now, with the scan
    taking = true; $("#take-meal").disabled = true;
    try {
      if (!navigator.onLine) throw Object.assign(new Error("offline"), { status: 0 });
      const answer = await Youfu.api("POST", `${base}/redemptions`, body, { idempotencyKey: entry.key });
      remember(answer, body, true);
      clearScan();
    } catch (err) {
      if (networkFailure(err)) {
        await enqueue(entry);
        clearScan();
        say("#take-msg", "网络断了：这笔取餐已记在本机（待上传），联网后自动上传。可以接着给下一位老人取餐。", "ok");
        showQueue();
      } else {
        say("#take-msg", "没有取餐成功：" + explain(err));
      }
    } finally {
      taking = false; $("#take-meal").disabled = false;
    }
  });
  function clearScan() {
    $("#meal-code").value = ""; looked = null; scan = { method: "typed", scannedAt: null };
    $("#elder-card").hidden = true; $("#confirm-name-row").hidden = true; quiet("#lookup-msg");
  }

  function receiptText(a) {
    return a.receipt_zh || `补贴 ${yuan(a.subsidy_fen)} 元，自付 ${yuan(a.self_fen)} 元`;
  }
  function remember(answer, body, fresh = false) {
    const known = recent.findIndex(r => r.redemption_id === answer.redemption_id);
    if (known >= 0) recent[known] = answer; else recent.unshift(answer);
    if (fresh) {
      const box = $("#receipt");
      box.innerHTML = `<p class="receipt-line">${esc(answer.elder_name || "")} · ${esc(answer.meal_name || MEALS[body.meal])} ${yuan(body.price_fen)} 元</p>`
        + `<p class="receipt-money" id="receipt-text">${esc(receiptText(answer))}</p>`
        + (answer.reason_zh ? `<p>${esc(answer.reason_zh)}</p>` : "");
      box.hidden = false;
    }
    showRecent();
  }
  async function loadRecent() { // today's meals at this point, from the server (also those of other devices)
    try {
      const today = await Youfu.api("GET", `${base}/redemptions`);
      recent.splice(0, recent.length, ...today.sort((a, b) => String(b.redeemed_at).localeCompare(String(a.redeemed_at))));
      showRecent();
    } catch { /* offline: what this page made stays listed */ }
  }

  function showRecent() {
    const now = Date.now();
    $("#recent-list").innerHTML = recent.length ? recent.map(a => {
      const open = !a.undone_at && a.undo_until && Date.parse(a.undo_until) > now;
      return `<li data-redemption="${esc(a.redemption_id)}"><span>${a.redeemed_at ? timeText(a.redeemed_at) + " · " : ""}`
        + `${esc(a.elder_name || "")} · ${esc(a.meal_name || MEALS[a.meal] || "")} ${yuan(a.price_fen)} 元 · ${esc(receiptText(a))}</span> `
        + (a.undone_at ? `<strong>已撤销</strong>`
          : open ? `<button type="button" data-undo="${esc(a.redemption_id)}" aria-label="撤销 ${esc(a.elder_name || "")} 的这笔取餐">撤销</button>`
            + ` <span class="muted">${timeText(a.undo_until)} 前可撤销</span>` : "")
        + "</li>";
    }).join("") : `<li class="muted">今天还没有取餐记录</li>`;
  }
  $("#recent-list").addEventListener("click", async e => {
    const b = e.target.closest("button[data-undo]");
    if (!b) return;
    const id = b.dataset.undo;
    b.disabled = true;
    try {
      const answer = await Youfu.api("POST", `${base}/redemptions/${q(id)}/undo`);
      remember({ ...answer, undone_at: answer.undone_at || new Date().toISOString() }, answer);
      say("#take-msg", `已撤销 ${answer.elder_name || ""} 的这笔取餐，补贴已退回老人的代金券。`, "ok");
    } catch (err) {
      say("#take-msg", "没有撤销成功：" + explain(err));
      showRecent();
    }
  });
  setInterval(showRecent, 30_000); // the undo buttons go when their 10 minutes are over

  loadPoint().then(ok => {
    if (ok) { showRecent(); showQueue(); loadRecent().then(sync); }
    document.body.dataset.loaded = "true";
  });
})();

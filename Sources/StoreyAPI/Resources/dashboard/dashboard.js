// Storey dashboard: the tower floor by floor, the tenants' densities, live from the event stream.
// Own code only (no libraries): fetch the API, draw SVG, follow /api/v1/events.
"use strict";

(function () {
  const errors = document.getElementById("script-errors");
  function reportError(message) {
    errors.hidden = false;
    errors.textContent += message + "\n";
  }
  window.addEventListener("error", (event) => reportError(String(event.message || event.error)));
  window.addEventListener("unhandledrejection", (event) => reportError(String(event.reason)));

  // ---- words, in English and Simplified Chinese ----
  const words = {
    en: {
      title: "Storey", colourBy: "Colour by", modeUtilisation: "Utilisation (occupancy / capacity)",
      modeBaseline: "Power density vs its usual for this hour", legendIdle: "idle (0% of its usual)",
      legendHalf: "half its usual", legendUsual: "its usual level or busier", legendNoBaseline: "no data or no baseline yet",
      legendBuildingBasis: "dashed: no history of its own yet, compared with the building's usual density",
      legendBaselineNote: "Usual: the median of this hour of the week over the last 4 weeks.", legendTitle: "Colours:",
      vsTarget: "of target so far this month", vsCapacity: "of design capacity", vsOwnBaseline: "of its usual for this hour",
      vsBuildingBaseline: "of the building's usual density for this hour", comparison: "Colour",
      modeOutput: "Output density vs target", modeEnergy: "Energy intensity vs target", switchLanguage: "中文",
      tokenNeeded: "This view needs a read token:", useToken: "Use token", tower: "Tower, floor by floor",
      tenants: "Tenants", colTenant: "Tenant", colArea: "Leased m²", colEnergyIntensity: "kWh/m² (month)",
      colOccupancyDensity: "Persons/100 m² (hour)", colOutputDensity: "Output/m² (month)", colTarget: "Target/m² (month)",
      colGap: "Gap to target", updated: "Updated", streamLive: "Live: updates arrive as windows close.",
      streamDown: "Live stream disconnected — figures may be stale. Reconnecting…",
      brokerDown: "The MQTT broker is not connected: no new readings are arriving.",
      storeDown: "The store is not writable: readings are not being saved.",
      vacant: "vacant", noData: "no data", floor: "Floor", area: "Area", capacity: "Capacity", tenant: "Tenant",
      space: "Space", energyHour: "Energy this hour", powerNow: "Mean power (last minute)", occupancyHour: "Mean occupancy this hour",
      utilisation: "Utilisation", energyIntensityMonth: "Energy intensity this month", outputDensityMonth: "Output density this month",
      sparkline: "Power, last hour (kW)", sparklineEmpty: "No power readings in the last hour", legendLow: "low",
      legendHigh: "at or above", persons: "persons", lastReading: "Last reading",
      alerts: "Open alerts", noAlerts: "No open alerts.", colSince: "Since", colScope: "Where", colRule: "Rule",
      colValue: "Value (limit)", colState: "State", acknowledge: "Acknowledge", unacknowledge: "Take back",
      firing: "firing", pending: "pending", acknowledgedBy: "acknowledged by", silenced: "silenced", flapping: "flapping",
      needsAdmin: "Acknowledging needs an admin token: enter one above.", historyOf: "Alert history of",
      noHistory: "No alert transitions.", historyOfAlert: "History of the alert", noSuchAlert: "Alert not found",
      shards: "Instances of the estate", colShard: "Shard", colBuildings: "Buildings", colHolder: "Held by",
      colHeldSince: "Since", thisInstance: "this instance", heldByNobody: "nobody — a standby takes it over",
      answeredBy: "Answered by instance",
    },
    zh: {
      title: "Storey 楼宇", colourBy: "着色依据", modeUtilisation: "使用率（在岗人数 / 设计容量）",
      modeBaseline: "功率密度对比本时段常态", legendIdle: "闲置（常态的 0%）",
      legendHalf: "常态的一半", legendUsual: "达到或高于常态", legendNoBaseline: "无数据或尚无基线",
      legendBuildingBasis: "虚线：尚无自身历史，与全楼常态密度比较",
      legendBaselineNote: "常态：过去 4 周同一周内时段的中位数。", legendTitle: "颜色：",
      vsTarget: "本月迄今目标的", vsCapacity: "设计容量的", vsOwnBaseline: "本时段自身常态的",
      vsBuildingBaseline: "本时段全楼常态密度的", comparison: "着色",
      modeOutput: "产出密度对比目标", modeEnergy: "能耗强度对比目标", switchLanguage: "English",
      tokenNeeded: "查看需要只读令牌：", useToken: "使用令牌", tower: "楼栋剖面（逐层）",
      tenants: "租户", colTenant: "租户", colArea: "租赁面积 m²", colEnergyIntensity: "单位面积能耗 kWh/m²（本月）",
      colOccupancyDensity: "人员密度 人/100 m²（本小时）", colOutputDensity: "单位面积产出（本月）", colTarget: "目标/m²（本月）",
      colGap: "与目标差距", updated: "更新于", streamLive: "实时：窗口结束时自动更新。",
      streamDown: "实时数据流已断开，数据可能已过时。正在重新连接……",
      brokerDown: "MQTT 消息服务器未连接：没有新的读数到达。",
      storeDown: "数据库不可写：读数未被保存。",
      vacant: "空置", noData: "无数据", floor: "楼层", area: "面积", capacity: "设计容量", tenant: "租户",
      space: "空间", energyHour: "本小时能耗", powerNow: "平均功率（上一分钟）", occupancyHour: "本小时平均在岗人数",
      utilisation: "使用率", energyIntensityMonth: "本月单位面积能耗", outputDensityMonth: "本月单位面积产出",
      sparkline: "功率，最近一小时（kW）", sparklineEmpty: "最近一小时没有功率读数", legendLow: "偏低",
      legendHigh: "达到或超过", persons: "人", lastReading: "最近读数",
      alerts: "未处理告警", noAlerts: "暂无未处理告警。", colSince: "开始于", colScope: "位置", colRule: "规则",
      colValue: "数值（阈值）", colState: "状态", acknowledge: "确认", unacknowledge: "撤销确认",
      firing: "告警中", pending: "待定", acknowledgedBy: "已确认：", silenced: "已静默", flapping: "反复",
      needsAdmin: "确认告警需要管理员令牌：请在上方输入。", historyOf: "告警记录：",
      noHistory: "没有告警记录。", historyOfAlert: "该告警的记录：", noSuchAlert: "找不到该告警",
      shards: "集群实例", colShard: "分片", colBuildings: "楼栋", colHolder: "负责实例",
      colHeldSince: "接管于", thisInstance: "本实例", heldByNobody: "无 — 备用实例将接管",
      answeredBy: "应答实例：",
    },
  };
  const params = new URLSearchParams(location.search);
  let language = params.get("lang") || localStorage.getItem("storey-language") ||
    (navigator.language && navigator.language.toLowerCase().startsWith("zh") ? "zh" : "en");
  if (!words[language]) language = "en";
  const t = (key) => words[language][key] || words.en[key] || key;

  function applyLanguage() {
    document.documentElement.lang = language === "zh" ? "zh-CN" : "en";
    for (const element of document.querySelectorAll("[data-i18n]")) element.textContent = t(element.dataset.i18n);
    render();
    if (lastDetail) showDetail(...lastDetail);
  }
  let lastDetail = null;
  document.getElementById("language").addEventListener("click", () => {
    language = language === "zh" ? "en" : "zh";
    localStorage.setItem("storey-language", language);
    applyLanguage();
  });

  // ---- talking to the API ----
  let token = localStorage.getItem("storey-token") || "";
  const tokenForm = document.getElementById("token-form");
  tokenForm.addEventListener("submit", (event) => {
    event.preventDefault();
    token = document.getElementById("token").value.trim();
    localStorage.setItem("storey-token", token);
    tokenForm.hidden = true;
    start();
  });
  function headers() {
    return token ? { Authorization: "Bearer " + token } : {};
  }
  async function getJSON(path) {
    const response = await fetch(path, { headers: headers() });
    if (response.status === 401 || response.status === 403) {
      tokenForm.hidden = false;
      throw new Error("token refused for " + path);
    }
    if (!response.ok) {
      let detail = response.statusText;
      try { detail = (await response.json()).detail; } catch (_) { /* not a problem document */ }
      throw new Error(path + ": " + detail);
    }
    return response.json();
  }

  // ---- state ----
  const state = { topology: null, live: null, alerts: [], buildingId: params.get("building"), selected: null, sort: { key: "gap", ascending: true } };
  const streamBanner = document.getElementById("stream-state");
  const brokerBanner = document.getElementById("broker-state");
  let streamUp = false;
  let daemonStatus = null;

  function building() {
    if (!state.topology) return null;
    return state.topology.buildings.find((b) => b.id === state.buildingId) || state.topology.buildings[0] || null;
  }
  function liveBuilding() {
    const current = building();
    return state.live && current ? state.live.buildings.find((b) => b.id === current.id) : null;
  }
  function byId(list) {
    const map = new Map();
    for (const item of list || []) map.set(item.id, item);
    return map;
  }

  // ---- numbers ----
  function number(value, digits) {
    if (value === null || value === undefined || !isFinite(value)) return "—";
    return value.toLocaleString(language === "zh" ? "zh-CN" : "en-GB", { maximumFractionDigits: digits === undefined ? 2 : digits });
  }
  // The share of the month gone, in the building's own time zone: its month figures are of its local
  // month, whatever the time zone of the browser (a control room abroad, a CI machine on UTC).
  function monthElapsed() {
    const current = building();
    const parts = {};
    const format = new Intl.DateTimeFormat("en-GB", {
      timeZone: (current && current.timeZone) || undefined, hourCycle: "h23",
      year: "numeric", month: "numeric", day: "numeric", hour: "numeric", minute: "numeric",
    });
    for (const part of format.formatToParts(new Date())) parts[part.type] = Number(part.value);
    const days = new Date(Date.UTC(parts.year, parts.month, 0)).getUTCDate();
    return Math.max((parts.day - 1 + (parts.hour + parts.minute / 60) / 24) / days, 1 / (days * 24));
  }
  // The colour of a share 0…1 (1 = at or above what is expected): red → amber → green.
  function shareColour(share) {
    const s = Math.max(0, Math.min(1, share));
    const hue = Math.round(s * 120);
    return "hsl(" + hue + ", 62%, " + (42 + (1 - s) * 6) + "%)";
  }

  // How a space compares with what is expected of it, by the chosen colour mode: { share, basis }.
  // share is 0…1 (1 = at or above what is expected), null when there is no data or nothing to compare
  // with; basis says with what: "own" or "building" baseline, "capacity", "target".
  function spaceComparison(space, liveSpace, tenant, live) {
    const mode = document.getElementById("colour-mode").value;
    const figures = liveSpace && liveSpace.figures;
    const none = { share: null, basis: "" };
    if (mode === "baseline") {
      // Power density this hour against the space's own usual density for this hour of the week, or,
      // until it has history of its own, against the building's.
      const hour = figures && figures.hour;
      if (!hour || hour.meanPower === undefined || hour.meanPower === null || !hour.leasedArea) return none;
      const own = liveSpace.baselinePowerDensity;
      const usual = own || (live && live.baselinePowerDensity);
      if (!usual) return none;
      return { share: (hour.meanPower / hour.leasedArea) / usual, basis: own ? "own" : "building" };
    }
    if (mode === "utilisation") {
      const hour = figures && figures.hour;
      if (!hour || hour.meanOccupancy === undefined || hour.meanOccupancy === null || !space.capacity) return none;
      return { share: hour.meanOccupancy / space.capacity, basis: "capacity" };
    }
    const month = figures && figures.month;
    const targets = tenant && tenant.targets;
    if (!month || !targets) return none;
    if (mode === "output") {
      if (!targets.outputPerM2Month || month.outputDensity === undefined) return none;
      return { share: month.outputDensity / (targets.outputPerM2Month * monthElapsed()), basis: "target" };
    }
    if (!targets.energyPerM2Month || month.energyIntensity === undefined) return none;
    // Energy: using the budget is use; far below it is underuse.
    return { share: month.energyIntensity / (targets.energyPerM2Month * monthElapsed()), basis: "target" };
  }

  // ---- the tower ----
  const svgNS = "http://www.w3.org/2000/svg";
  function svg(name, attributes, parent) {
    const element = document.createElementNS(svgNS, name);
    for (const [key, value] of Object.entries(attributes)) element.setAttribute(key, value);
    if (parent) parent.appendChild(element);
    return element;
  }

  function drawTower() {
    const tower = document.getElementById("tower");
    const current = building();
    while (tower.lastChild) tower.removeChild(tower.lastChild);
    svg("title", { id: "tower-title" }, tower).textContent = current ? current.name : "";
    document.getElementById("building-name").textContent = current ? "— " + current.name : "";
    if (!current) return;
    const live = liveBuilding();
    const liveSpaces = byId(live && live.spaces);
    const tenants = byId(state.topology.tenants);
    const floors = current.floors.slice().sort((a, b) => b.level - a.level); // roof first
    const width = 900, labelWidth = 56, rowHeight = 34, gap = 4;
    const height = floors.length * (rowHeight + gap) + 24;
    tower.setAttribute("viewBox", "0 0 " + width + " " + height);
    floors.forEach((floor, row) => {
      const y = row * (rowHeight + gap);
      const group = svg("g", { class: "floor", "data-floor": floor.id }, tower);
      svg("text", { x: 4, y: y + rowHeight / 2 + 4, class: "floor-label" }, group).textContent = t("floor") + " " + floor.level;
      const usable = width - labelWidth;
      const totalArea = Math.max(floor.grossArea, floor.spaces.reduce((sum, s) => sum + s.area, 0));
      svg("rect", { x: labelWidth, y: y, width: usable, height: rowHeight, fill: "#eef1f4" }, group);
      let x = labelWidth;
      for (const space of floor.spaces) {
        const spaceWidth = usable * space.area / totalArea;
        const liveSpace = liveSpaces.get(space.id);
        const tenantId = (liveSpace && liveSpace.tenant) || space.tenant;
        const tenant = tenantId ? tenants.get(tenantId) : null;
        const comparison = tenant ? spaceComparison(space, liveSpace, tenant, live) : { share: null, basis: "" };
        const share = comparison.share;
        const rect = svg("rect", {
          x: x + 1, y: y + 1, width: Math.max(spaceWidth - 2, 1), height: rowHeight - 2,
          class: "space" + (tenant ? "" : " vacant") + (state.selected === space.id ? " selected" : "") +
            (share !== null && comparison.basis === "building" ? " basis-building" : ""),
          fill: tenant ? (share === null ? noDataColour : shareColour(share)) : "#ffffff",
          "data-space": space.id, "data-tenant": tenant ? tenant.id : "", "data-share": share === null ? "" : share.toFixed(3),
          "data-basis": share === null ? "" : comparison.basis,
          tabindex: 0,
        }, group);
        svg("title", {}, rect).textContent = (tenant ? tenant.name : t("vacant")) + " · " + space.id + " · " + number(space.area, 0) + " m²" +
          (share === null ? "" : " · " + number(share * 100, 0) + "% " + t(basisWords[comparison.basis]));
        const select = () => { state.selected = space.id; drawTower(); showDetail(floor, space, tenant, liveSpace); };
        rect.addEventListener("mouseenter", select);
        rect.addEventListener("click", select);
        rect.addEventListener("focus", select);
        if (spaceWidth > 60) {
          const label = svg("text", { x: x + 6, y: y + rowHeight / 2 + 4, class: "space-label" + (tenant ? "" : " dark") }, group);
          const name = tenant ? tenant.name : t("vacant");
          label.textContent = name.length * 7 > spaceWidth - 10 ? name.slice(0, Math.max(3, Math.floor((spaceWidth - 10) / 7))) + "…" : name;
        }
        x += spaceWidth;
      }
    });
    drawLegend();
  }

  const noDataColour = "#b8c2cc";
  const basisWords = { own: "vsOwnBaseline", building: "vsBuildingBaseline", capacity: "vsCapacity", target: "vsTarget" };

  // What the colours mean in the chosen mode, in the chosen language.
  function drawLegend() {
    const legend = document.getElementById("legend");
    legend.textContent = "";
    const baseline = document.getElementById("colour-mode").value === "baseline";
    legend.dataset.mode = document.getElementById("colour-mode").value;
    const title = document.createElement("strong");
    title.textContent = t("legendTitle");
    legend.appendChild(title);
    const entries = baseline
      ? [[shareColour(0), t("legendIdle")], [shareColour(0.5), t("legendHalf")], [shareColour(1), t("legendUsual")],
         [noDataColour, t("legendNoBaseline")], ["#ffffff", t("vacant")], ["dashed", t("legendBuildingBasis")]]
      : [[shareColour(0), t("legendLow")], [shareColour(0.5), "50%"], [shareColour(1), t("legendHigh") + " 100%"], [noDataColour, t("noData")], ["#ffffff", t("vacant")]];
    for (const [colour, text] of entries) {
      const item = document.createElement("span");
      item.setAttribute("role", "listitem");
      item.className = "legend-entry";
      const swatch = document.createElement("span");
      swatch.className = "swatch" + (colour === "dashed" ? " dashed" : "");
      if (colour !== "dashed") swatch.style.background = colour;
      item.appendChild(swatch);
      item.appendChild(document.createTextNode(text));
      legend.appendChild(item);
    }
    if (baseline) {
      const note = document.createElement("span");
      note.className = "legend-note";
      note.textContent = t("legendBaselineNote");
      legend.appendChild(note);
    }
  }

  // ---- the detail panel ----
  async function showDetail(floor, space, tenant, liveSpace) {
    lastDetail = [floor, space, tenant, liveSpace];
    const panel = document.getElementById("detail");
    panel.hidden = false;
    document.getElementById("detail-title").textContent = (tenant ? tenant.name : t("vacant")) + " — " + space.id;
    const figures = (liveSpace && liveSpace.figures) || {};
    const rows = [
      [t("floor"), String(floor.level)], [t("area"), number(space.area, 0) + " m²"], [t("capacity"), number(space.capacity, 0) + " " + t("persons")],
      [t("powerNow"), figures.minute ? number(figures.minute.meanPower) + " kW" : "—"],
      [t("energyHour"), figures.hour ? number(figures.hour.energy) + " kWh" : "—"],
      [t("occupancyHour"), figures.hour ? number(figures.hour.meanOccupancy, 1) : "—"],
      [t("utilisation"), figures.hour && figures.hour.meanOccupancy !== undefined && space.capacity ? number(100 * figures.hour.meanOccupancy / space.capacity, 0) + "%" : "—"],
      [t("energyIntensityMonth"), figures.month ? number(figures.month.energyIntensity, 3) + " kWh/m²" : "—"],
      [t("outputDensityMonth"), figures.month ? number(figures.month.outputDensity, 3) : "—"],
    ];
    const comparison = tenant ? spaceComparison(space, liveSpace, tenant, liveBuilding()) : { share: null, basis: "" };
    rows.push([t("comparison"), comparison.share === null ? "—" : number(comparison.share * 100, 0) + "% " + t(basisWords[comparison.basis])]);
    const list = document.getElementById("detail-figures");
    list.textContent = "";
    for (const [term, value] of rows) {
      const dt = document.createElement("dt");
      dt.textContent = term;
      const dd = document.createElement("dd");
      dd.textContent = value;
      list.appendChild(dt);
      list.appendChild(dd);
    }
    const caption = document.getElementById("sparkline-caption");
    const line = document.getElementById("sparkline");
    while (line.lastChild) line.removeChild(line.lastChild);
    caption.textContent = t("sparkline");
    try {
      const series = await getJSON("/api/v1/series?scope=space:" + encodeURIComponent(space.id) + "&resolution=minute&figure=meanPower");
      if (state.selected !== space.id) return;
      const values = series.windows.filter((w) => w.value !== null && w.value !== undefined);
      if (values.length < 2) { caption.textContent = t("sparklineEmpty"); return; }
      const max = Math.max(...values.map((w) => w.value)), min = Math.min(...values.map((w) => w.value));
      const points = values.map((w, i) => {
        const x = (i / (values.length - 1)) * 240;
        const y = 44 - (max === min ? 20 : ((w.value - min) / (max - min)) * 40);
        return x.toFixed(1) + "," + y.toFixed(1);
      });
      svg("polyline", { points: points.join(" ") }, line);
      caption.textContent = t("sparkline") + ": " + number(min) + " – " + number(max);
    } catch (error) {
      caption.textContent = String(error.message || error);
    }
  }

  // ---- the tenant table ----
  function tenantRows() {
    const current = building();
    const live = liveBuilding();
    if (!current || !live) return [];
    const liveTenants = byId(live.tenants);
    const elapsed = monthElapsed();
    return state.topology.tenants.filter((tenant) => liveTenants.has(tenant.id)).map((tenant) => {
      const figures = liveTenants.get(tenant.id).figures || {};
      const month = figures.month || {}, hour = figures.hour || {};
      const target = tenant.targets && tenant.targets.outputPerM2Month ? tenant.targets.outputPerM2Month : null;
      const outputDensity = month.outputDensity === undefined ? null : month.outputDensity;
      return {
        id: tenant.id, name: tenant.name, area: month.leasedArea !== undefined ? month.leasedArea : hour.leasedArea,
        energyIntensity: month.energyIntensity, occupancyDensity: hour.occupancyDensity, outputDensity: outputDensity,
        target: target, gap: target !== null && outputDensity !== null ? outputDensity - target * elapsed : null,
      };
    });
  }

  function drawTable() {
    const rows = tenantRows();
    const { key, ascending } = state.sort;
    rows.sort((a, b) => {
      const x = a[key], y = b[key];
      if (x === y) return 0;
      if (x === null || x === undefined) return 1;
      if (y === null || y === undefined) return -1;
      const order = typeof x === "string" ? x.localeCompare(y) : x - y;
      return ascending ? order : -order;
    });
    const body = document.querySelector("#tenants tbody");
    body.textContent = "";
    for (const row of rows) {
      const tr = document.createElement("tr");
      tr.dataset.tenant = row.id;
      const cells = [row.name, number(row.area, 0), number(row.energyIntensity, 3), number(row.occupancyDensity, 2), number(row.outputDensity, 3), number(row.target, 1), number(row.gap, 3)];
      cells.forEach((text, index) => {
        const td = document.createElement("td");
        td.textContent = text;
        if (index === 6 && row.gap !== null && row.gap < 0) td.className = "short";
        tr.appendChild(td);
      });
      body.appendChild(tr);
    }
    for (const th of document.querySelectorAll("#tenants th")) {
      th.classList.toggle("sorted-asc", th.dataset.sort === key && ascending);
      th.classList.toggle("sorted-desc", th.dataset.sort === key && !ascending);
    }
  }
  for (const th of document.querySelectorAll("#tenants th")) {
    th.addEventListener("click", () => {
      const key = th.dataset.sort;
      state.sort = { key, ascending: state.sort.key === key ? !state.sort.ascending : true };
      drawTable();
    });
  }

  // ---- status banners ----
  function drawBanners() {
    streamBanner.textContent = streamUp ? t("streamLive") : t("streamDown");
    streamBanner.className = "banner " + (streamUp ? "up" : "down");
    streamBanner.dataset.state = streamUp ? "up" : "down";
    const problems = [];
    if (daemonStatus && !daemonStatus.brokerConnected) problems.push(t("brokerDown"));
    if (daemonStatus && !daemonStatus.storeWritable) problems.push(t("storeDown"));
    brokerBanner.textContent = problems.join(" ");
    brokerBanner.className = "banner " + (problems.length ? "down" : "");
    brokerBanner.dataset.state = daemonStatus ? (daemonStatus.brokerConnected ? "connected" : "down") : "unknown";
  }

  // ---- alerts ----
  const timeFormat = () => new Intl.DateTimeFormat(language === "zh" ? "zh-CN" : "en-GB", { dateStyle: "short", timeStyle: "short" });
  function scopeName(scope) {
    const [kind, id] = scope.split(":");
    if (kind === "tenant" && state.topology) {
      const tenant = state.topology.tenants.find((x) => x.id === id);
      if (tenant) return tenant.name;
    }
    return scope;
  }
  function drawAlerts() {
    const body = document.querySelector("#alerts tbody");
    body.textContent = "";
    const open = (state.alerts || []).filter((a) => a.state === "firing" || a.state === "pending");
    document.getElementById("alerts-empty").hidden = open.length > 0;
    document.getElementById("alerts").hidden = open.length === 0;
    for (const alert of open) {
      const tr = document.createElement("tr");
      tr.dataset.fingerprint = alert.fingerprint;
      tr.className = alert.state + (alert.acknowledgement ? " acknowledged" : "") + (alert.fingerprint === linkedAlert ? " linked" : "");
      let stateText = t(alert.state);
      if (alert.acknowledgement) stateText += " — " + t("acknowledgedBy") + " " + alert.acknowledgement.by;
      if (alert.silenced) stateText += " — " + t("silenced");
      if (alert.flapping) stateText += " — " + t("flapping");
      const value = alert.value === undefined ? "—" : number(alert.value, 3) + " " + (alert.unit || "") + " (" + number(alert.limit, 3) + ")";
      const cells = [alert.since ? timeFormat().format(new Date(alert.since)) : "—", scopeName(alert.scope),
        (alert.annotations && alert.annotations.summary) || alert.rule, value, stateText];
      for (const text of cells) {
        const td = document.createElement("td");
        td.textContent = text;
        tr.appendChild(td);
      }
      const action = document.createElement("td");
      if (alert.state === "firing") {
        const button = document.createElement("button");
        button.type = "button";
        button.textContent = alert.acknowledgement ? t("unacknowledge") : t("acknowledge");
        button.addEventListener("click", () => acknowledge(alert, !alert.acknowledgement));
        action.appendChild(button);
      }
      tr.appendChild(action);
      body.appendChild(tr);
    }
  }
  // An estate's instances (storage: postgresql): which holds each shard of buildings. A single instance
  // lists none, and the section stays hidden.
  function drawShards() {
    const list = state.shards;
    document.getElementById("shard-section").hidden = !list || list.shards.length === 0;
    if (!list) return;
    const body = document.querySelector("#shards tbody");
    body.textContent = "";
    for (const shard of list.shards) {
      const tr = document.createElement("tr");
      tr.dataset.shard = shard.shard;
      tr.dataset.holder = shard.instance || "";
      tr.className = !shard.instance ? "nobody" : (shard.heldHere ? "here" : "");
      const holder = !shard.instance ? t("heldByNobody") : shard.instance + (shard.heldHere ? " (" + t("thisInstance") + ")" : "");
      for (const text of [shard.shard, shard.buildings.join(", "), holder, shard.since ? timeFormat().format(new Date(shard.since)) : "—"]) {
        const td = document.createElement("td");
        td.textContent = text;
        tr.appendChild(td);
      }
      body.appendChild(tr);
    }
    document.getElementById("shard-answered").textContent = list.instance ? t("answeredBy") + " " + list.instance : "";
  }
  async function loadShards() {
    state.shards = await getJSON("/api/v1/shards");
    drawShards();
  }
  async function loadAlerts() {
    state.alerts = (await getJSON("/api/v1/alerts")).alerts;
    drawAlerts();
  }
  async function acknowledge(alert, on) {
    const message = document.getElementById("alert-message");
    const path = "/api/v1/alerts/" + encodeURIComponent(alert.fingerprint) + "/acknowledgement";
    const response = await fetch(path, {
      method: on ? "POST" : "DELETE",
      headers: Object.assign({ "Content-Type": "application/json" }, headers()),
      body: on ? JSON.stringify({ by: "dashboard", comment: "" }) : undefined,
    });
    if (response.status === 401 || response.status === 403) {
      message.textContent = t("needsAdmin");
      tokenForm.hidden = false;
      return;
    }
    message.textContent = response.ok ? "" : (await response.json().catch(() => ({}))).detail || response.statusText;
    await loadAlerts();
  }
  function listTransitions(history) {
    const list = document.getElementById("alert-history");
    list.textContent = "";
    if (history.length === 0) {
      const item = document.createElement("li");
      item.textContent = t("noHistory");
      list.appendChild(item);
    }
    for (const transition of history.slice(-50).reverse()) {
      const item = document.createElement("li");
      item.textContent = timeFormat().format(new Date(transition.time)) + " · " + transition.rule + " · " +
        transition.from + " → " + transition.to + (transition.detail ? " (" + transition.detail + ")" : "");
      list.appendChild(item);
    }
  }
  async function showTenantHistory(tenantId) {
    const tenant = state.topology.tenants.find((x) => x.id === tenantId);
    const title = document.getElementById("history-title");
    title.hidden = false;
    title.textContent = t("historyOf") + " " + (tenant ? tenant.name : tenantId);
    delete title.dataset.fingerprint;
    listTransitions((await getJSON("/api/v1/alerts/history?tenant=" + encodeURIComponent(tenantId))).transitions);
  }
  // A notification's link (`delivery.external_url` + /alerts/FINGERPRINT) opens the dashboard on that
  // alert: its row marked among the open alerts, and its whole history listed.
  const linkedAlert = (() => {
    const match = location.pathname.match(/^\/alerts\/([^/]+)$/);
    return match ? decodeURIComponent(match[1]) : null;
  })();
  async function showLinkedAlert() {
    const title = document.getElementById("history-title");
    title.hidden = false;
    title.dataset.fingerprint = linkedAlert;
    let alert;
    try {
      alert = await getJSON("/api/v1/alerts/" + encodeURIComponent(linkedAlert));
    } catch (error) {
      title.textContent = t("noSuchAlert") + ": " + linkedAlert;
      document.getElementById("alert-history").textContent = "";
      return;
    }
    title.textContent = t("historyOfAlert") + " " + ((alert.annotations && alert.annotations.summary) || alert.rule) +
      " · " + scopeName(alert.scope);
    listTransitions(alert.history || []);
    const row = document.querySelector("#alerts tbody tr.linked");
    if (row) row.scrollIntoView({ block: "center" });
  }
  document.querySelector("#tenants tbody").addEventListener("click", (event) => {
    const row = event.target.closest("tr");
    if (row && row.dataset.tenant) showTenantHistory(row.dataset.tenant).catch((e) => reportError(String(e.message || e)));
  });

  function render() {
    drawBanners();
    drawTower();
    drawTable();
    drawAlerts();
    drawShards();
    if (state.live) document.getElementById("updated").textContent = new Date(state.live.generatedAt).toLocaleTimeString(language === "zh" ? "zh-CN" : "en-GB");
  }

  // ---- loading and following ----
  async function loadLive() {
    state.live = await getJSON("/api/v1/live" + (state.buildingId ? "?building=" + encodeURIComponent(state.buildingId) : ""));
    daemonStatus = state.live.status;
    render();
  }
  let refreshTimer = null;
  function scheduleRefresh() {
    if (refreshTimer) return;
    refreshTimer = setTimeout(() => { refreshTimer = null; loadLive().catch((e) => console.warn(e)); }, 500);
  }

  // The event stream through fetch (so the token travels in a header, never in a URL).
  let lastEventId = null;
  async function follow() {
    let delay = 1000;
    for (;;) {
      try {
        const requestHeaders = headers();
        if (lastEventId) requestHeaders["Last-Event-ID"] = lastEventId;
        const response = await fetch("/api/v1/events", { headers: requestHeaders });
        if (!response.ok || !response.body) throw new Error("event stream answered " + response.status);
        streamUp = true;
        delay = 1000;
        drawBanners();
        const reader = response.body.getReader();
        const decoder = new TextDecoder();
        let buffer = "";
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += decoder.decode(value, { stream: true });
          let end;
          while ((end = buffer.indexOf("\n\n")) >= 0) {
            handleEvent(buffer.slice(0, end));
            buffer = buffer.slice(end + 2);
          }
        }
      } catch (error) {
        console.warn("event stream:", error);
      }
      streamUp = false;
      drawBanners();
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay = Math.min(delay * 2, 15000);
    }
  }
  function handleEvent(block) {
    let name = "message", data = "", id = null;
    for (const line of block.split("\n")) {
      if (line.startsWith("event: ")) name = line.slice(7);
      else if (line.startsWith("data: ")) data += line.slice(6);
      else if (line.startsWith("id: ")) id = line.slice(4);
    }
    if (id) lastEventId = id;
    if (name === "status") {
      daemonStatus = JSON.parse(data);
      drawBanners();
    } else if (name === "window" || name === "gap") {
      scheduleRefresh();
      if (name === "gap") loadAlerts().catch((e) => console.warn(e));
    } else if (name === "alert") {
      loadAlerts().catch((e) => console.warn(e));
    }
  }

  // Started once a token is known; a token entered later (an admin token to acknowledge) reloads the
  // data but must not open a second event stream or poll.
  let following = false;
  async function start() {
    try {
      state.topology = await getJSON("/api/v1/topology");
      const select = document.getElementById("building-select");
      if (state.topology.buildings.length > 1) {
        select.hidden = false;
        select.textContent = "";
        for (const b of state.topology.buildings) {
          const option = document.createElement("option");
          option.value = b.id;
          option.textContent = b.name;
          select.appendChild(option);
        }
        select.value = building().id;
        select.onchange = () => { state.buildingId = select.value; loadLive(); };
      }
      await loadLive();
      await loadAlerts();
      if (linkedAlert) await showLinkedAlert();
      await loadShards();
      if (following) return;
      following = true;
      follow();
      // A slow poll as well: the hour and month figures move between minute events too, and the alert
      // list stays right even if an alert event was missed (a stream dropped as too slow and resumed).
      setInterval(() => {
        loadLive().catch((e) => console.warn(e));
        loadAlerts().catch((e) => console.warn(e));
      }, 30000);
      // An estate: ownership moves within seconds of an instance dying, and alerts judged by other
      // instances do not come down this instance's event stream: both asked for more often.
      if (state.shards && state.shards.shards.length > 0) {
        setInterval(() => {
          loadShards().catch((e) => console.warn(e));
          loadAlerts().catch((e) => console.warn(e));
        }, 5000);
      }
    } catch (error) {
      if (!tokenForm.hidden) return; // waiting for a token
      reportError(String(error.message || error));
    }
  }
  document.getElementById("colour-mode").addEventListener("change", render);
  applyLanguage();
  start();
})();

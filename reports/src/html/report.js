// Filters the requirement and case rows by family, level and verdict. The filter can also
// come from the address (report.html#family=FS&verdict=fail), so that a link shows a view.
(function () {
  const select = (id) => document.getElementById(id);
  const fields = ["family", "level", "verdict"];
  function apply() {
    const want = Object.fromEntries(fields.map((f) => [f, select(f).value]));
    let shown = 0, total = 0;
    document.querySelectorAll("table.requirements tbody tr").forEach((row) => {
      const keep =
        (!want.family || row.dataset.family === want.family) &&
        (!want.level || row.dataset.level === want.level) &&
        (!want.verdict || row.dataset.verdicts.split(" ").includes(want.verdict));
      row.hidden = !keep;
      total += 1;
      if (keep) shown += 1;
    });
    document.querySelectorAll("table.cases tbody tr").forEach((row) => {
      row.hidden = !(
        (!want.family || row.dataset.family === want.family) &&
        (!want.verdict || row.dataset.verdicts.split(" ").includes(want.verdict))
      );
    });
    select("shown").textContent = shown + " of " + total + " requirements shown";
  }
  const asked = new URLSearchParams(location.hash.slice(1));
  fields.forEach((f) => {
    if (asked.has(f)) select(f).value = asked.get(f);
    select(f).addEventListener("change", apply);
  });
  apply();
})();

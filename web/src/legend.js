// The legend: one entry per visible layer, drawn from the legend the API gives for it.
import { t } from './i18n.js';

function swatch(color, kind = 'fill', dashed = false) {
  const s = document.createElement('span');
  s.className = `swatch swatch-${kind}${dashed ? ' dashed' : ''}`;
  s.style.setProperty('--c', color);
  return s;
}

function row(children) {
  const d = document.createElement('div');
  d.className = 'legend-row';
  children.forEach((c) => d.append(c));
  return d;
}

function fmt(v) {
  if (v === 0) return '0';
  const a = Math.abs(v);
  return a >= 1000 || a < 0.01 ? v.toExponential(1) : v.toPrecision(2);
}

export function renderLegend(container, added) {
  container.innerHTML = '';
  for (const { layer, visible } of Object.values(added).reverse()) {
    if (!visible) continue;
    const lg = layer.legend || {};
    const box = document.createElement('div');
    box.className = 'legend-item';
    box.dataset.layer = layer.name;
    const title = document.createElement('div');
    title.className = 'legend-title';
    const key = `layer.${layer.name}`;
    title.textContent = t(key) !== key ? t(key) : layer.title;
    box.appendChild(title);
    if (lg.type === 'categories') {
      const present = Object.keys(lg.colors);
      present.filter((k) => ['CHN', 'RUS', 'PRK', 'MNG'].includes(k)).forEach((k) => box.appendChild(row([swatch(lg.colors[k]), t(`country.${k}`)])));
      if (lg.approximate) box.appendChild(row([swatch('#555', 'outline', true), t('legend.approximate')]));
    } else if (lg.type === 'ramp') {
      const bar = document.createElement('div');
      bar.className = 'ramp';
      bar.style.background = `linear-gradient(to right, ${lg.stops.map((s) => s.color).join(', ')})`;
      box.appendChild(bar);
      const ends = document.createElement('div');
      ends.className = 'ramp-ends';
      ends.innerHTML = '';
      const lo = document.createElement('span'); lo.textContent = fmt(lg.min);
      const hi = document.createElement('span'); hi.textContent = fmt(lg.max);
      ends.append(lo, hi);
      box.appendChild(ends);
      if (lg.scale === 'log') box.appendChild(row([t('legend.log')]));
    } else if (lg.type === 'line') {
      box.appendChild(row([swatch(lg.color, 'line')]));
      if (lg.cross) box.appendChild(row([swatch(lg.cross, 'line'), t('legend.crosses_border')]));
    } else if (lg.type === 'outline') {
      box.appendChild(row([swatch(lg.color, 'outline', true)]));
    } else if (lg.type === 'point') {
      box.appendChild(row([swatch(lg.color, 'dot')]));
    } else if (lg.type === 'observations') {
      box.appendChild(row([swatch(lg.exact, 'dot'), t('legend.exact')]));
      box.appendChild(row([swatch(lg.generalized, 'ring'), t('legend.generalized')]));
      box.appendChild(row([swatch(lg.generalized, 'hatch'), t('legend.generalized_cell')]));
      box.appendChild(row([swatch(lg.cluster, 'dot'), t('legend.cluster')]));
    } else if (lg.type === 'gps') {
      box.appendChild(row([swatch(lg.gps, 'line'), t('legend.gps')]));
      box.appendChild(row([swatch(lg.crossing, 'dot'), t('legend.crossing')]));
    } else if (lg.type === 'tracks') {
      box.appendChild(row([swatch(lg.track, 'line'), t('legend.track')]));
      box.appendChild(row([swatch(lg.crossing, 'line'), t('legend.crossing')]));
    } else if (lg.type === 'fill' && lg.colors) {
      Object.entries(lg.colors).filter(([k]) => ['CHN', 'RUS', 'PRK'].includes(k)).forEach(([k, c]) => box.appendChild(row([swatch(c), t(`country.${k}`)])));
    } else if (lg.type === 'fill') {
      box.appendChild(row([swatch(lg.color)]));
    } else if (lg.type === 'shade') {
      box.appendChild(row([t('legend.shade')]));
    }
    container.appendChild(box);
  }
}

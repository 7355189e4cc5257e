// Small charts (Chart.js, tree-shaken to the parts used): protected-area area per country.
import { BarController, BarElement, CategoryScale, Chart, LinearScale, Tooltip } from 'chart.js';
import { t } from './i18n.js';

Chart.register(BarController, BarElement, CategoryScale, LinearScale, Tooltip);

export function paChart(canvas, pas, colors, other) {
  const byCountry = {};
  for (const f of pas.features) {
    const k = f.properties.iso3;
    byCountry[k] = (byCountry[k] || 0) + (Number(f.properties.area_km2) || 0);
  }
  const keys = Object.keys(byCountry).sort();
  const chart = new Chart(canvas, {
    type: 'bar',
    data: { labels: keys.map((k) => t(`country.${k}`)),
      datasets: [{ label: t('chart.area'), data: keys.map((k) => Math.round(byCountry[k])),
        backgroundColor: keys.map((k) => colors[k] || other) }] },
    options: { animation: false, responsive: false, plugins: { legend: { display: false } },
      scales: { y: { title: { display: true, text: t('chart.area') } } } },
  });
  return () => {
    chart.data.labels = keys.map((k) => t(`country.${k}`));
    chart.data.datasets[0].label = t('chart.area');
    chart.options.scales.y.title.text = t('chart.area');
    chart.update();
  };
}

// Charts (Chart.js, tree-shaken to the parts used): PA area per country in the sidebar, and the dashboards.
import { BarController, BarElement, CategoryScale, Chart, Legend, LinearScale, LineController, LineElement,
  PointElement, Tooltip } from 'chart.js';
import { t } from './i18n.js';

Chart.register(BarController, BarElement, CategoryScale, LinearScale, LineController, LineElement, PointElement,
  Legend, Tooltip);

export { Chart };

//: A qualitative palette (ColorBrewer Dark2 + Set1) for chart series.
export const PALETTE = ['#1b9e77', '#d95f02', '#7570b3', '#e7298a', '#66a61e', '#e6ab02', '#a6761d', '#666666',
  '#e41a1c', '#377eb8', '#4daf4a', '#984ea3'];

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

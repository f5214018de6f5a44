// ECharts, only the parts the dashboards draw (line, bar, heat map; axes, tooltip, scrolling legend, continuous
// visual map; the SVG renderer), in the dashboards' own chunk: the resident's bundle never carries it.
import { init, use } from 'echarts/core'
import { BarChart, HeatmapChart, LineChart } from 'echarts/charts'
import { GridComponent, LegendScrollComponent, TooltipComponent, VisualMapContinuousComponent } from 'echarts/components'
import { SVGRenderer } from 'echarts/renderers'

use([BarChart, HeatmapChart, LineChart, GridComponent, LegendScrollComponent, TooltipComponent,
  VisualMapContinuousComponent, SVGRenderer])

/** A chart drawn as SVG into `element`. */
export function chartIn(element) {
  return init(element, null, { renderer: 'svg' })
}

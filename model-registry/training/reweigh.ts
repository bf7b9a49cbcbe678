// Kamiran & Calders' reweighing ("Data preprocessing techniques for classification without
// discrimination", 2012): weight each row w(g, y) = P(g)·P(y) / P(g, y), so in the weighted
// training set the label is independent of the group while every group and every label keeps
// its total weight. A pre-processing mitigation: the learner only sees sample weights.
import { ValidationError } from '../../platform/errors/app-error.js';

export interface ReweighCell { group: string; label: number; count: number; weight: number }

export function reweighingWeights(y: ArrayLike<number>, groups: ArrayLike<string>): { weights: Float64Array; table: ReweighCell[] } {
  const n = y.length;
  if (groups.length !== n) throw new ValidationError('y and groups must have the same length', [{ path: 'groups', message: `must have ${n} values` }]);
  if (n === 0) throw new ValidationError('no rows to reweigh', [{ path: 'y', message: 'must have at least one row' }]);
  const byGroup = new Map<string, number>();
  const byLabel = new Map<number, number>();
  const byCell = new Map<string, number>();
  const key = (g: string, l: number) => `${l}\u0000${g}`;
  for (let i = 0; i < n; i++) {
    const g = groups[i]!, l = y[i]!;
    if (l !== 0 && l !== 1) throw new ValidationError(`y[${i}] is ${l}`, [{ path: `y/${i}`, message: 'must be 0 or 1' }]);
    byGroup.set(g, (byGroup.get(g) ?? 0) + 1);
    byLabel.set(l, (byLabel.get(l) ?? 0) + 1);
    byCell.set(key(g, l), (byCell.get(key(g, l)) ?? 0) + 1);
  }
  // n_g·n_y / (n·n_gy): the expected count of the cell under independence over its observed count.
  const weightOf = (g: string, l: number) => (byGroup.get(g)! * byLabel.get(l)!) / (n * byCell.get(key(g, l))!);
  const weights = new Float64Array(n);
  for (let i = 0; i < n; i++) weights[i] = weightOf(groups[i]!, y[i]!);
  const table = [...byCell].map(([k, count]) => {
    const [l, g] = [Number(k.slice(0, k.indexOf('\u0000'))), k.slice(k.indexOf('\u0000') + 1)];
    return { group: g, label: l, count, weight: weightOf(g, l) };
  }).sort((a, b) => (a.group < b.group ? -1 : a.group > b.group ? 1 : a.label - b.label));
  return { weights, table };
}

/**
 * FLOP counts of methods from files, written as arithmetic in N, D and M (`4*N*D*M + 2*N*M`). Parsed by Vega's
 * expression parser (already a dependency, for charts) and evaluated over its syntax tree: numbers, the three
 * names, + − × ÷, ** or pow(), sqrt(), log(), log2(), parentheses. Nothing else is allowed.
 */
import { msg } from '../../messages.js';
import { parseExpression } from 'vega-expression';

type Node = { type: string; [k: string]: unknown };
export type FlopsVars = { N: number; D: number; M: number };

const FUNCTIONS: Record<string, (...a: number[]) => number> = {
  pow: Math.pow,
  sqrt: Math.sqrt,
  log: Math.log,
  log2: Math.log2,
};

function evaluate(node: Node, vars: FlopsVars): number {
  switch (node.type) {
    case 'Literal':
      if (typeof node.value !== 'number') throw new Error(msg.flopsNotANumber(node.value));
      return node.value;
    case 'Identifier':
      if (!(String(node.name) in vars)) throw new Error(msg.flopsUnknownName(String(node.name)));
      return vars[node.name as keyof FlopsVars];
    case 'UnaryExpression':
      if (node.operator === '-') return -evaluate(node.argument as Node, vars);
      if (node.operator === '+') return evaluate(node.argument as Node, vars);
      break;
    case 'BinaryExpression': {
      const a = evaluate(node.left as Node, vars);
      const b = evaluate(node.right as Node, vars);
      if (node.operator === '+') return a + b;
      if (node.operator === '-') return a - b;
      if (node.operator === '*') return a * b;
      if (node.operator === '/') return a / b;
      if (node.operator === '**') return a ** b;
      break;
    }
    case 'CallExpression': {
      const callee = node.callee as Node;
      const fn = callee.type === 'Identifier' ? FUNCTIONS[String(callee.name)] : undefined;
      if (!fn) throw new Error(msg.flopsUnknownFunction(Object.keys(FUNCTIONS)));
      return fn(...(node.arguments as Node[]).map((a) => evaluate(a, vars)));
    }
  }
  throw new Error(msg.flopsNotAllowed(String(node.operator ?? node.type), Object.keys(FUNCTIONS)));
}

/** The expression's value at (N, D, M); throws (plain Error, with the reason) on anything outside the grammar. */
export function evaluateFlops(expression: string, vars: FlopsVars): number {
  const value = evaluate(parseExpression(expression) as Node, vars);
  if (!Number.isFinite(value) || value < 0) throw new Error(msg.flopsValue(value, vars));
  return value;
}

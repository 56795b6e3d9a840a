export function importsOf(text: string): string[];
export function layerOf(rel: string): string;
export function findCycles(edges: ReadonlyArray<readonly [string, string, ...unknown[]]>): string[][];
export function layerEdges(srcDir: string): Array<[string, string, string]>;

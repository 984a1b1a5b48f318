/**
 * npm run plan:comment -- <stack>: posts the plan summary (plan.md of npm run plan) as one comment
 * on the pull request, updated in place on every push (found by a marker line), and appends it to
 * the job's summary ($GITHUB_STEP_SUMMARY). Uses the job's GITHUB_TOKEN (pull-requests: write).
 */
import { appendFileSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { PLAN_SUMMARY, reviewFolder } from "./plan";

export const marker = (stack: string) => `<!-- iss-tracker terraform plan: ${stack} -->`;

/** GitHub caps a comment at 65536 characters. */
export function commentBody(stack: string, summary: string, limit = 65_000): string {
  const head = `${marker(stack)}\n`;
  if (head.length + summary.length <= limit) return head + summary;
  return `${head}${summary.slice(0, limit - head.length - 120)}\n\n... (truncated: the full summary is in the job summary and the plan artefact)\n`;
}

async function main(): Promise<number> {
  const stack = process.argv[2];
  if (!stack) {
    console.error("usage: npm run plan:comment -- <stack>");
    return 2;
  }
  const summary = readFileSync(join(reviewFolder(stack), PLAN_SUMMARY), "utf8");
  if (process.env.GITHUB_STEP_SUMMARY) appendFileSync(process.env.GITHUB_STEP_SUMMARY, summary);
  const { GITHUB_TOKEN: token, GITHUB_REPOSITORY: repo, GITHUB_EVENT_PATH: eventPath, GITHUB_API_URL: api = "https://api.github.com" } = process.env;
  if (!token || !repo || !eventPath) {
    console.error("plan:comment: GITHUB_TOKEN, GITHUB_REPOSITORY and GITHUB_EVENT_PATH are needed to comment (only the job summary was written)");
    return 1;
  }
  const number = JSON.parse(readFileSync(eventPath, "utf8")).pull_request?.number;
  if (!number) throw new Error("not a pull_request event");
  const headers = { authorization: `Bearer ${token}`, accept: "application/vnd.github+json", "content-type": "application/json" };
  const comments = (await (await fetch(`${api}/repos/${repo}/issues/${number}/comments?per_page=100`, { headers })).json()) as Array<{ id: number; body?: string }>;
  const existing = comments.find((c) => c.body?.startsWith(marker(stack)));
  const body = JSON.stringify({ body: commentBody(stack, summary) });
  const response = existing
    ? await fetch(`${api}/repos/${repo}/issues/comments/${existing.id}`, { method: "PATCH", headers, body })
    : await fetch(`${api}/repos/${repo}/issues/${number}/comments`, { method: "POST", headers, body });
  if (!response.ok) throw new Error(`GitHub answered ${response.status} ${await response.text()}`);
  console.error(`plan:comment: ${existing ? "updated" : "posted"} the plan of ${stack} on #${number}`);
  return 0;
}

if (require.main === module) main().then((code) => process.exit(code), (error) => {
  console.error(`plan:comment: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});

/**
 * The reviewer's digest of one stack (markdown): each role with who may assume it, what it may do
 * and its boundary, the stack's resource policies, and what `npm run prove` answered for the
 * configuration. Roles and their ARNs come from the access model prove itself evaluates
 * (scripts/prove/access-model.ts: references resolved to the ARNs the configuration implies), and
 * the answers from the same evaluation (proveModel): nothing here evaluates a policy.
 */
import type { AccessModel, RoleModel } from "../prove/access-model";
import type { ProofRow } from "../prove/model";
import type { Json } from "../shared/synth";
import { policyDocumentOf } from "./hcl";

type Statement = Json;

const list = (value: Json): Json[] => (value === undefined ? [] : Array.isArray(value) ? value : [value]);
const code = (items: readonly string[]) => items.map((i) => `\`${i}\``).join(", ");

function principals(principal: Json): string {
  if (principal === "*") return "anyone (`*`)";
  return Object.entries<Json>(principal ?? {}).map(([kind, who]) => `${kind} ${code(list(who).map(String))}`).join("; ");
}

function conditions(condition: Json): string {
  const parts = Object.entries<Json>(condition ?? {}).flatMap(([operator, byKey]) =>
    Object.entries<Json>(byKey).map(([k, v]) => `${k} ${operator} ${code(list(v).map(String))}`));
  return parts.length ? `, when ${parts.join(" and ")}` : "";
}

/** One statement on one line: effect, actions, on what (or to whom), under which conditions. */
export function statementLine(s: Statement): string {
  const actions = list(s.Action ?? s.NotAction).map(String);
  const not = s.NotAction ? "every action but " : "";
  const on = s.Resource || s.NotResource ? ` on ${s.NotResource ? "everything but " : ""}${code(list(s.Resource ?? s.NotResource).map(String))}` : "";
  const to = s.Principal ? ` to ${principals(s.Principal)}` : "";
  return `${s.Effect} ${not}${code(actions)}${on}${to}${conditions(s.Condition)}${s.Sid ? ` (${s.Sid})` : ""}`;
}

function roleSection(role: RoleModel): string[] {
  const account = role.accountId;
  return [
    `### ${role.name}`,
    "",
    `\`${role.arn}\` (account ${account})`,
    "",
    "**Who may assume it** (trust policy):",
    ...role.trustPolicy.Statement.map((s) => `- ${s.Effect} ${code(list(s.Action).map(String))} by ${principals(s.Principal)}${conditions(s.Condition)}${s.Sid ? ` (${s.Sid})` : ""}`),
    "",
    "**What it may do**:",
    ...(role.policies.length === 0 ? ["- nothing: no policy"] : role.policies.flatMap((p) => [`- inline policy \`${p.name}\`:`, ...p.policy.Statement.map((s) => `  - ${statementLine(s)}`)])),
    "",
    `**Boundary**: ${role.boundary ? `\`${role.boundary.name}\`, so at most:` : "none (its policies are all it may do)"}`,
    ...(role.boundary ? role.boundary.policy.Statement.map((s) => `- ${statementLine(s)}`) : []),
    "",
  ];
}

/** Every policy-document argument of the stack's resources other than the roles' own (those are above). */
function resourcePolicies(stackJson: Json): string[] {
  const own = new Set(["aws_iam_role", "aws_iam_role_policy", "aws_iam_policy"]);
  const lines: string[] = [];
  for (const [type, byName] of Object.entries<Json>(stackJson.resource ?? {})) {
    if (own.has(type)) continue;
    for (const [name, resource] of Object.entries<Json>(byName)) {
      for (const [argument, value] of Object.entries<Json>(resource)) {
        const doc = typeof value === "string" ? policyDocumentOf(value) : undefined;
        if (!doc) continue;
        lines.push(`- \`${type}.${name}\` ${argument}:`, ...list(doc.Statement).map((s: Statement) => `  - ${statementLine(s)}`));
      }
    }
  }
  return lines;
}

function proveSection(rows: readonly ProofRow[]): string[] {
  const wrong = rows.filter((r) => !r.ok);
  const groups = [...new Set(rows.map((r) => r.group))];
  return [
    "## What `npm run prove` answered",
    "",
    `${rows.length - wrong.length} of ${rows.length} expectations hold${wrong.length ? `; **${wrong.length} do not**` : ""} ` +
      `(${rows.filter((r) => r.expected === "allow" && !r.residual).length} allowed as needed, ${rows.filter((r) => r.expected === "deny").length} denied, ` +
      `${rows.filter((r) => r.residual).length} residual), evaluated for this configuration by @cloud-copilot/iam-simulate.`,
    "",
    "| question | expectations | holding |",
    "|---|---|---|",
    ...groups.map((g) => {
      const inGroup = rows.filter((r) => r.group === g);
      return `| ${g} | ${inGroup.length} | ${inGroup.filter((r) => r.ok).length} |`;
    }),
    "",
    ...(wrong.length ? ["Not holding:", ...wrong.map((r) => `- **${r.description}**: expected ${r.expected}, got ${r.decision} (${r.request})`), ""] : []),
    "Residual, allowed by necessity:",
    ...rows.filter((r) => r.residual).map((r) => `- ${r.description}: ${r.residual}`),
    "",
  ];
}

/** The digest of `stackName` (its roles are the aws_iam_role resources of `stackJson`). */
export function digest(stackName: string, stackJson: Json, model: AccessModel, rows: readonly ProofRow[]): string {
  const roleNames = Object.values<Json>(stackJson.resource?.aws_iam_role ?? {}).map((r) => String(r.name));
  const roles = roleNames.map((name) => {
    const role = model.roles[name];
    if (!role) throw new Error(`the access model has no role ${name} of stack ${stackName}`);
    return role;
  });
  const policies = resourcePolicies(stackJson);
  return [
    `# ${stackName}: review digest`,
    "",
    `Written by \`npm run synth\` beside \`main.tf\` (the plain Terraform of \`../../stacks/${stackName}/cdk.tf.json\`). ` +
      `Accounts: A = ${model.accountA}${model.config.accountAId ? "" : " (ACCOUNT_A_ID unset: an example)"}, B = ${model.accountB}; ` +
      "ARNs are the ones this configuration implies" +
      (model.config.deployerPrincipalArn ? "." : `; DEPLOYER_PRINCIPAL_ARN unset: the deployer is the example ${model.deployerArn} (the stack asks for it at deploy).`),
    "",
    `## Roles (${roles.length})`,
    "",
    ...(roles.length ? roles.flatMap(roleSection) : ["None.", ""]),
    "## Resource policies",
    "",
    ...(policies.length ? policies : ["None."]),
    "",
    ...proveSection(rows),
  ].join("\n");
}

import { TerraformResource, TerraformStack } from "cdktf";
import type { Construct } from "constructs";

/**
 * Takes a construct out of the stack and tells Terraform to forget its resources instead of
 * destroying them: one `removed` block per resource (`lifecycle { destroy = false }`, Terraform
 * 1.7+), at the addresses the construct's resources had (the construct is built first, so its
 * addresses are exactly those in the state). A removed target's bucket goes this way: Terraform
 * stops managing it and its log stays in its account, whatever the destroy guard says.
 */
export function forgetConstruct(construct: Construct): string[] {
  const stack = TerraformStack.of(construct);
  const addresses = construct.node.findAll()
    .filter((c): c is TerraformResource => TerraformResource.isTerraformResource(c))
    .map((r) => `${r.terraformResourceType}.${stack.getLogicalId(r)}`)
    .sort();
  const parent = construct.node.scope;
  if (!parent || !parent.node.tryRemoveChild(construct.node.id)) throw new Error(`cannot take ${construct.node.path} out of the stack`);
  const blocks = forgotten.get(stack) ?? [];
  blocks.push(...addresses.map((from) => ({ from, lifecycle: { destroy: false } })));
  forgotten.set(stack, blocks);
  stack.addOverride("removed", blocks);
  return addresses;
}

const forgotten = new WeakMap<TerraformStack, Array<{ from: string; lifecycle: { destroy: boolean } }>>();

/**
 * An ordered container of named children, like PyTorch's nn.Sequential as far as state-dict names go
 * (`body.0`, `body.3`). It does not run anything: the owning model calls the children in order.
 */
import { Module } from './module';

export class Container extends Module {
  add<M extends Module>(name: string | number, module: M): M {
    return this.child(String(name), module);
  }

  /** Lists an existing module under a second name (the official EDSR block's `body.2`). */
  addAlias(name: string | number, module: Module): void {
    this.alias(String(name), module);
  }
}

// A stand-in for the MetaTrainer's stage announcements, for @tensorloop/testkit: the kit trains one
// plain fit, and this companion announces it as stage 1 (`meta:stageStart` at its start,
// `meta:stageEnd` at its end), as a MetaTrainer does, so stage plugins such as freezeExcept act.
// Plain JavaScript: the kit's resume check imports it in fresh Node processes.
import { definePlugin } from '@tensorloop/core';

export function stageAnnouncer() {
  return definePlugin({
    name: 'test:stage-announcer',
    async onFitStart(ctx, event) {
      await ctx.emit('meta:stageStart', {
        stage: 1,
        name: 'head only',
        stages: 2,
        epochs: event.epochs,
        data: undefined,
        resumed: event.resumed,
      });
    },
    async onFitEnd(ctx) {
      await ctx.emit('meta:stageEnd', {
        stage: 1,
        name: 'head only',
        history: ctx.history,
        time: { ...ctx.time },
      });
    },
  });
}

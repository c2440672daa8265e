// typedoc plugin: every export of every entry point carries an `@example` (STYLE.md: "TSDoc on every
// export, with an @example"). typedoc's `notDocumented` only asks for a comment; this asks for the
// example too, as a warning, which `treatWarningsAsErrors` turns into a failed `npm run docs`.
import { Application, ReflectionKind } from 'typedoc';

/** @param {import('typedoc').Application} app */
export function load(app) {
  app.on(Application.EVENT_VALIDATE_PROJECT, (project) => {
    const modules = project.children?.every((child) => child.kindOf(ReflectionKind.Module)) ? project.children : [project];
    for (const module of modules) {
      for (const reflection of module.children ?? []) {
        if (reflection.kindOf(ReflectionKind.Reference)) continue; // documented where it is declared
        const comments = [reflection.comment, ...(reflection.signatures ?? []).map((signature) => signature.comment)];
        if (comments.some((comment) => comment?.getTag('@example'))) continue;
        app.logger.warn(`${reflection.getFriendlyFullName()} (${ReflectionKind[reflection.kind]}), defined in ${reflection.sources?.[0]?.fileName ?? '?'}, has no @example`);
      }
    }
  });
}

import AjvCompiler from '@fastify/ajv-compiler';

/**
 * The validators of route schemas. Query strings, path parameters and headers are text, so their
 * values are coerced to the schema's types ("5" -> 5, one value -> an array). A JSON body already
 * carries types, so it is validated as sent: a sample value of null, true or "1" is refused
 * instead of being stored as 0, 1 and 1. Same ajv options (formats, defaults) otherwise.
 */
export function createValidatorFactory(): AjvCompiler.ValidatorFactory {
  const pool = AjvCompiler();
  return (externalSchemas, options) => {
    const coercing = pool(externalSchemas, options);
    if (options === undefined || options.mode === 'JTD') return coercing;
    const exact = pool(externalSchemas, { ...options, customOptions: { ...options.customOptions, coerceTypes: false } });
    return (route) => (route.httpPart === 'body' ? exact(route) : coercing(route));
  };
}

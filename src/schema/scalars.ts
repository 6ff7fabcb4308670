import { DateTimeResolver, JSONResolver, SafeIntResolver } from 'graphql-scalars';
import { builder } from '../builder.js';

builder.addScalarType('DateTime', DateTimeResolver, {});
builder.addScalarType('JSON', JSONResolver, {});
// Amounts in minor units: a JSON number, exact up to 2^53 − 1 (a GraphQL Int stops at 2^31 − 1,
// 21,474,836.47 in a 2-decimal currency, which real IDR or B2B baskets exceed).
builder.addScalarType('SafeInt', SafeIntResolver, {});

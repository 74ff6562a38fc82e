import { detailString, fitDetails, toHaptikAnswer } from '../../bridge/src/haptik/integration-answer';

/** Haptik takes user_details values as strings and both detail maps within 500 characters. */
describe('integration answers as Haptik takes them', () => {
    it('sends every detail value as a string and leaves out null ones', () => {
        const { answer, leftOut } = toHaptikAnswer({
            status: true,
            response: ['hi'],
            conversation_details: { handover_id: 'h-1', attempts: 2 },
            user_details: { crm_found: true, crm_match_count: 3, crm_id: '003x', tags: ['a', 'b'], nothing: null }
        });

        expect(answer).toEqual({
            status: true,
            response: ['hi'],
            conversation_details: { handover_id: 'h-1', attempts: '2' },
            user_details: { crm_found: 'true', crm_match_count: '3', crm_id: '003x', tags: '["a","b"]' }
        });
        expect(leftOut).toEqual([]);
        expect(detailString(false)).toBe('false');
        expect(detailString(undefined)).toBeUndefined();
    });

    it('keeps within 500 characters, leaving out in the documented order and keeping what still fits', () => {
        const fitted = fitDetails(
            { handover_id: 'h-1' },
            {
                loyalty_note: 'x'.repeat(150),
                email: `${'e'.repeat(400)}@example.com`,
                phone: '+1 415 555 0101',
                name: 'Asha Rao',
                crm_id: '003000000000001AAA',
                crm_object: 'Contact',
                crm_found: true,
                crm_match_count: 1
            }
        );

        // crm_found first, the contact's identity next, then phone before email, the mapping's extra fields last.
        expect(Object.keys(fitted.user_details)).toEqual([
            'crm_found',
            'crm_object',
            'crm_id',
            'name',
            'phone',
            'crm_match_count',
            'loyalty_note'
        ]);
        expect(fitted.leftOut).toEqual(['user_details.email']);
        const size = JSON.stringify(fitted.conversation_details).length + JSON.stringify(fitted.user_details).length;
        expect(size).toBeLessThanOrEqual(500);
        expect(fitted.conversation_details).toEqual({ handover_id: 'h-1' });
    });
});
